import { describe, expect, it } from 'vitest';
import { collapseWhitespace, renderTemplate, type TemplateModel } from './promql-template.js';

const model: TemplateModel = {
  name: 'podinfo',
  namespace: 'test',
  target: 'podinfo',
  service: 'podinfo-svc',
  ingress: 'podinfo-ing',
  route: 'podinfo-route',
  interval: '1m',
  variables: { reporter: 'destination', 'with-dash': 'x', quote: 'a"b' },
};

describe('renderTemplate', () => {
  it.each([
    ['plain text', 'up', 'up'],
    [
      'every model field',
      '{{name}}/{{namespace}}/{{target}}/{{service}}/{{ingress}}/{{route}}/{{interval}}',
      'podinfo/test/podinfo/podinfo-svc/podinfo-ing/podinfo-route/1m',
    ],
    ['spaces inside the action', 'x{ns="{{   namespace   }}"}', 'x{ns="test"}'],
    ['variables.KEY', 'r="{{ variables.reporter }}"', 'r="destination"'],
    ['index variables "KEY" (keys with a dash)', '{{ index variables "with-dash" }}', 'x'],
    ['values are inserted as they are', '{{ variables.quote }}', 'a"b'],
    ['trim left', 'a  \n {{- target }}', 'apodinfo'],
    ['trim right', '{{ target -}} \n\t b', 'podinfob'],
    ['trim both', 'sum( {{- interval -}} )', 'sum(1m)'],
    ['a dash without a space is not a trim marker', '{{-3}}', /unsupported template action \{\{-3\}\}/],
    ['comment', 'a{{/* what */}}b', 'ab'],
    [
      'a multi-line query keeps its lines',
      'sum(\n  rate(x{ns="{{ namespace }}"}[{{ interval }}])\n)',
      'sum(\n  rate(x{ns="test"}[1m])\n)',
    ],
    [
      'Go field syntax is not supported',
      '{{ .Namespace }}',
      /unsupported template action \{\{ \.Namespace \}\} at line 1/,
    ],
    ['pipelines are not supported', '{{ target | printf "%s" }}', /unsupported template action/],
    ['printf is not supported', '{{ printf "%s" target }}', /unsupported template action/],
    ['an unknown function', '{{ cluster }}', /unsupported template action \{\{ cluster \}\}/],
    ['the line of the bad action', 'a\nb\n{{ if target }}', /at line 3/],
    ['an unclosed action', 'x{{ target ', /unclosed action "\{\{" at line 1/],
    [
      'a variable that is not set',
      '{{ variables.missing }}',
      /template variable "missing" is not set \(templateVariables: quote, reporter, with-dash\)/,
    ],
  ])('%s', (_, template, expected) => {
    if (expected instanceof RegExp) expect(() => renderTemplate(template, model)).toThrow(expected);
    else expect(renderTemplate(template, model)).toBe(expected);
  });

  it.each([
    [
      'namespace',
      { ...model, namespace: undefined },
      '{{ namespace }}',
      /\{\{ namespace \}\} has no value: the namespace is not known here/,
    ],
    ['target', { name: 'x', interval: '1m' }, '{{ target }}', /\{\{ target \}\} has no value/],
    ['variables when none are set', { interval: '1m' }, '{{ variables.a }}', /templateVariables: none/],
  ])('a missing %s is an error naming it', (_, m, template, expected) => {
    expect(() => renderTemplate(template, m as TemplateModel)).toThrow(expected);
  });
});

describe('collapseWhitespace', () => {
  it.each([
    ['sum(\n\trate(x[1m])\n)\n', 'sum( rate(x[1m]) )'],
    ['  a   b  ', 'a b'],
    ['a', 'a'],
  ])('%j -> %j', (input, expected) => {
    expect(collapseWhitespace(input)).toBe(expected);
  });
});
