/**
 * Flagger's query templating (MetricTemplate `spec.query`, builtin metric queries), as data: the
 * template is split into text and actions, and each action is looked up in the model. Nothing is
 * evaluated; a template is never code.
 *
 * Flagger renders queries with Go's text/template and the functions `name namespace target service
 * ingress route interval variables` (flagger.md §1.5). Vireo understands the actions those
 * templates use:
 *
 *   {{ name }} {{ namespace }} {{ target }} {{ service }} {{ ingress }} {{ route }} {{ interval }}
 *   {{ variables.KEY }}   {{ index variables "KEY" }}   {{/* a comment *\/}}
 *
 * with Go's trim markers (`{{- ` and ` -}}` remove the whitespace beside the action). Any other
 * action (pipelines, printf, if/range, `.field`) is a `TemplateError` that names it, rather than a
 * query sent half-rendered.
 *
 * Difference from Flagger, on purpose: a variable the metric does not set, or a model field that is
 * not known, is an error naming it. Go's text/template would print `<no value>` into the PromQL and
 * Prometheus would answer with a parse error that does not say why.
 */

/** What a template can refer to (Flagger `MetricTemplateModel`). */
export interface TemplateModel {
  /** The Canary's name. */
  name?: string;
  namespace?: string;
  /** `spec.targetRef.name`. */
  target?: string;
  /** `spec.service.name`, else the target. */
  service?: string;
  /** `spec.ingressRef.name`, else the target. */
  ingress?: string;
  /** `spec.routeRef.name`, else the target. */
  route?: string;
  /** The metric's interval, e.g. `1m`. */
  interval?: string;
  /** The metric's `templateVariables`. */
  variables?: Readonly<Record<string, string>>;
}

export const MODEL_FIELDS = [
  'name',
  'namespace',
  'target',
  'service',
  'ingress',
  'route',
  'interval',
] as const;
type ModelField = (typeof MODEL_FIELDS)[number];

export class TemplateError extends Error {
  override name = 'TemplateError';
}

/** One piece of a parsed template. */
export type TemplatePart =
  | { kind: 'text'; text: string }
  | { kind: 'field'; field: ModelField; source: string }
  | { kind: 'variable'; key: string; source: string };

const FIELDS: ReadonlySet<string> = new Set(MODEL_FIELDS);
const IDENT = '[A-Za-z_][A-Za-z0-9_]*';
const FIELD_ACTION = new RegExp(`^(${IDENT})$`);
const VARIABLE_DOT = new RegExp(`^variables\\.(${IDENT})$`);
const VARIABLE_INDEX = /^index\s+variables\s+"((?:[^"\\]|\\.)*)"$/;
const COMMENT = /^\/\*[\s\S]*\*\/$/;
const SPACE = /^[ \t\r\n]/;

const lineOf = (text: string, at: number) => text.slice(0, at).split('\n').length;

function unquote(s: string): string {
  return s.replace(/\\(.)/g, (_, c: string) => (c === 'n' ? '\n' : c === 't' ? '\t' : c));
}

/** Splits a template into text and actions; throws `TemplateError` on an action it does not know. */
export function parseTemplate(template: string): TemplatePart[] {
  const parts: TemplatePart[] = [];
  let text = '';
  let i = 0;
  const pushText = () => {
    if (text !== '') parts.push({ kind: 'text', text });
    text = '';
  };
  while (i < template.length) {
    const open = template.indexOf('{{', i);
    if (open < 0) {
      text += template.slice(i);
      break;
    }
    text += template.slice(i, open);
    const close = template.indexOf('}}', open + 2);
    if (close < 0) throw new TemplateError(`unclosed action "{{" at line ${lineOf(template, open)}`);
    let inner = template.slice(open + 2, close);
    const source = template.slice(open, close + 2);
    // Trim markers need a space beside the dash ("{{-3}}" is the number -3 in Go).
    const trimLeft = inner.startsWith('-') && SPACE.test(inner.slice(1));
    const trimRight = inner.endsWith('-') && SPACE.test(inner.slice(-2, -1));
    if (trimLeft) {
      inner = inner.slice(1);
      text = text.replace(/[ \t\r\n]+$/, '');
    }
    if (trimRight) inner = inner.slice(0, -1);
    i = close + 2;
    if (trimRight) while (i < template.length && SPACE.test(template.charAt(i))) i++;
    const action = inner.trim();
    if (COMMENT.test(action)) continue;
    pushText();
    const field = FIELD_ACTION.exec(action)?.[1];
    const dotted = VARIABLE_DOT.exec(action)?.[1];
    const indexed = VARIABLE_INDEX.exec(action)?.[1];
    if (field !== undefined && FIELDS.has(field))
      parts.push({ kind: 'field', field: field as ModelField, source });
    else if (dotted !== undefined) parts.push({ kind: 'variable', key: dotted, source });
    else if (indexed !== undefined) parts.push({ kind: 'variable', key: unquote(indexed), source });
    else
      throw new TemplateError(
        `unsupported template action ${source} at line ${lineOf(template, open)} (Vireo renders ${MODEL_FIELDS.map((f) => `{{ ${f} }}`).join(' ')} and {{ variables.KEY }})`,
      );
  }
  pushText();
  return parts;
}

/** Renders `template` with `model`; throws `TemplateError` naming any action without a value. */
export function renderTemplate(template: string, model: TemplateModel): string {
  let out = '';
  for (const part of parseTemplate(template)) {
    if (part.kind === 'text') out += part.text;
    else if (part.kind === 'field') {
      const value = model[part.field];
      if (value === undefined || value === '')
        throw new TemplateError(`${part.source} has no value: the ${part.field} is not known here`);
      out += value;
    } else {
      const vars = model.variables ?? {};
      const value = Object.hasOwn(vars, part.key) ? vars[part.key] : undefined;
      if (value === undefined) {
        const known = Object.keys(vars).sort();
        throw new TemplateError(
          `${part.source}: template variable "${part.key}" is not set (templateVariables: ${known.length > 0 ? known.join(', ') : 'none'})`,
        );
      }
      out += value;
    }
  }
  return out;
}

/** Collapses runs of whitespace to one space, as Flagger does before sending a query. */
export function collapseWhitespace(query: string): string {
  return query.replace(/\s+/g, ' ').trim();
}
