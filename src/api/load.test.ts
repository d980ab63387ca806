import { describe, expect, it } from 'vitest';
import { formatDiagnostic } from './diagnostics.js';
import { checkObjects, loadManifests, redactDiagnostic } from './load.js';

const rollout = `apiVersion: argoproj.io/v1alpha1
kind: Rollout
metadata:
  name: web
spec:
  replicas: 2
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      containers:
      - name: web
        image: nginx
  strategy:
    canary:
      steps:
      - setWeight: 20
      - pause: {duration: 1m}
`;

const check = (text: string, file = 'f.yaml') => {
  const r = loadManifests(text, file);
  return { ...r, all: [...r.diagnostics, ...checkObjects(r.objects)] };
};

describe('loadManifests', () => {
  it('reads several documents and classifies each', () => {
    const r = check(`${rollout}---
apiVersion: v1
kind: Service
metadata: {name: web}
spec: {ports: [{port: 80}]}
---
---
apiVersion: example.com/v1
kind: Widget
metadata: {name: w}
`);
    expect(r.objects.map((o) => [o.object.kind, o.category, o.line])).toEqual([
      ['Rollout', 'vireo', 1],
      ['Service', 'kubernetes', 22],
      ['Widget', 'unknown', 28],
    ]);
    expect(r.all.filter((d) => d.severity === 'error')).toEqual([]);
    expect(r.all.map((d) => d.code)).toEqual(['unknown-kind']);
  });

  it('expands kind: List', () => {
    const r = check(`apiVersion: v1
kind: List
items:
- apiVersion: v1
  kind: Service
  metadata: {name: a}
- apiVersion: v1
  kind: ConfigMap
  metadata: {name: b}
`);
    expect(r.objects.map((o) => [o.object.kind, o.line])).toEqual([
      ['Service', 4],
      ['ConfigMap', 7],
    ]);
  });

  it('places a schema error on the line and column of the field', () => {
    const r = check(rollout.replace('setWeight: 20', 'setWeight: "twenty"'), 'app.yaml');
    const d = r.all.find((x) => x.severity === 'error')!;
    expect(d).toMatchObject({
      file: 'app.yaml',
      line: 19,
      column: 20,
      path: ['spec', 'strategy', 'canary', 'steps', 0, 'setWeight'],
    });
    expect(formatDiagnostic(d)).toMatch(
      /^app\.yaml:19:20: error: Rollout\/web: spec\.strategy\.canary\.steps\[0\]\.setWeight: /,
    );
  });

  it('points an unknown field at its key and suggests the closest', () => {
    const r = check(rollout.replace('replicas: 2', 'replica: 2'));
    const d = r.all.find((x) => x.code === 'unknown-field')!;
    expect(d).toMatchObject({ line: 6, column: 3, path: ['spec', 'replica'] });
    expect(d.message).toContain('did you mean "replicas"?');
  });

  it('reports YAML syntax errors with their position and keeps going', () => {
    const r = check(`apiVersion: v1
kind: Service
metadata: {name: a
---
${rollout}`);
    expect(r.diagnostics[0]).toMatchObject({ code: 'yaml', severity: 'error', file: 'f.yaml' });
    expect(r.diagnostics[0]!.line).toBeGreaterThanOrEqual(3);
    expect(r.objects.map((o) => o.object.kind)).toEqual(['Rollout']);
  });

  it('rejects duplicate keys, as kubectl does', () => {
    const r = check('apiVersion: v1\nkind: Service\nkind: ConfigMap\nmetadata: {name: a}\n');
    expect(r.diagnostics.map((d) => [d.code, d.severity])).toContainEqual(['yaml', 'error']);
  });

  it('reads YAML that kubectl accepts but strict YAML 1.2 does not', () => {
    const text = `apiVersion: v1
kind: ConfigMap
metadata:
  name: a
data:
  description: 'a quoted description
  continued at the same indentation'
`;
    const r = check(text);
    expect(r.objects).toHaveLength(1);
    expect((r.objects[0]!.object as unknown as { data: { description: string } }).data.description).toBe(
      'a quoted description continued at the same indentation',
    );
    expect(r.diagnostics.map((d) => d.code)).toEqual(['yaml-lenient']);
  });

  it('requires apiVersion and kind', () => {
    const r = check('metadata: {name: a}\n');
    expect(r.all.map((d) => [d.code, d.path])).toEqual([
      ['required', ['apiVersion']],
      ['required', ['kind']],
    ]);
  });

  it('names the served version when a known kind has the wrong one', () => {
    const r = check(rollout.replace('argoproj.io/v1alpha1', 'argoproj.io/v1'));
    expect(r.all[0]).toMatchObject({
      code: 'api-version',
      path: ['apiVersion'],
      line: 1,
      allowed: 'argoproj.io/v1alpha1',
    });
  });

  it('requires metadata.name on Vireo kinds', () => {
    const r = check(rollout.replace('  name: web\n', '  labels: {a: b}\n'));
    expect(r.all.filter((d) => d.severity === 'error').map((d) => d.path)).toContainEqual([
      'metadata',
      'name',
    ]);
  });

  it('ignores empty documents and comments-only files', () => {
    expect(check('# nothing here\n').objects).toEqual([]);
    expect(check('').objects).toEqual([]);
    expect(check('---\n---\n').all).toEqual([]);
  });

  it('rejects a document that is not a mapping', () => {
    expect(check('- a\n- b\n').all.map((d) => d.code)).toEqual(['not-an-object']);
  });
});

describe('redactDiagnostic', () => {
  it('hides values under credential-like keys', () => {
    expect(
      redactDiagnostic({
        severity: 'error',
        code: 'type',
        path: ['spec', 'password'],
        message: 'x',
        value: 's3cr3t',
      }).value,
    ).toBe('<redacted>');
    expect(
      redactDiagnostic({
        severity: 'error',
        code: 'type',
        path: ['spec', 'replicas'],
        message: 'x',
        value: 3,
      }).value,
    ).toBe(3);
  });
});

describe('misplaced fields', () => {
  it.each([
    ['labels: {a: b}\n', ['labels'], '"labels" is a field of metadata'],
    [
      '',
      ['spec', 'strategy', 'canary', 'setWeight'],
      '"setWeight" is a field of spec.strategy.canary.steps[]',
    ],
  ])('says where %j belongs', (extraTop, path, hint) => {
    const text =
      path[0] === 'labels'
        ? rollout + extraTop
        : rollout.replace('    canary:\n', '    canary:\n      setWeight: 10\n');
    const d = check(text).all.find((x) => x.code === 'unknown-field')!;
    expect(d.path).toEqual(path);
    expect(d.message).toContain(hint);
  });
});

describe('condition syntax errors', () => {
  it('point at the bad token inside the value', () => {
    const text = `apiVersion: argoproj.io/v1alpha1
kind: AnalysisTemplate
metadata: {name: t}
spec:
  metrics:
  - name: m
    successCondition: result[0] >> 1
    provider: {prometheus: {address: http://p:9090, query: up}}
`;
    const d = check(text).all.find((x) => x.code === 'argo/condition-syntax')!;
    expect(d).toMatchObject({ line: 7, path: ['spec', 'metrics', 0, 'successCondition'] });
    // The value starts at column 23; the second ">" is 11 characters into it.
    expect(d.column).toBeGreaterThan(23);
    expect(text.split('\n')[6]!.slice(d.column! - 1)).toMatch(/^>/);
  });
});

describe('reading YAML as kubectl does', () => {
  it('reads yes/no/on/off as booleans', () => {
    const r = check(
      rollout.replace(
        '    canary:\n      steps:\n      - setWeight: 20\n      - pause: {duration: 1m}\n',
        '    blueGreen:\n      activeService: web\n      autoPromotionEnabled: no\n',
      ),
    );
    expect(r.all.filter((d) => d.severity === 'error')).toEqual([]);
    expect(
      (r.objects[0]!.object.spec as { strategy: { blueGreen: { autoPromotionEnabled: unknown } } }).strategy
        .blueGreen.autoPromotionEnabled,
    ).toBe(false);
  });

  it('reports an alias bomb in place and keeps reading the other documents', () => {
    const bomb = `a: &a [x, x, x, x, x, x, x, x, x, x]
b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]
c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]
d: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]
e: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d, *d]
f: [*e, *e, *e, *e, *e, *e, *e, *e, *e, *e]
---
${rollout}`;
    const r = check(bomb);
    expect(r.diagnostics[0]).toMatchObject({ code: 'yaml', severity: 'error', line: 1 });
    expect(r.objects.map((o) => o.object.kind)).toEqual(['Rollout']);
  });

  it('calls a near-miss of a Vireo kind a typo', () => {
    const r = check(rollout.replace('kind: Rollout', 'kind: Rolout'));
    expect(r.all[0]).toMatchObject({ code: 'unknown-kind', severity: 'error', line: 2 });
    expect(r.all[0]!.message).toContain('did you mean "Rollout"?');
    // Other tools' kinds in the same group stay warnings.
    expect(
      check('apiVersion: argoproj.io/v1alpha1\nkind: Application\nmetadata: {name: a}\n').all.map(
        (d) => d.severity,
      ),
    ).toEqual(['warning']);
  });

  it('does not judge {{placeholders}} that Argo fills in before use', () => {
    const t = `apiVersion: argoproj.io/v1alpha1
kind: AnalysisTemplate
metadata: {name: t}
spec:
  args: [{name: method}, {name: hash}]
  metrics:
  - name: m
    provider:
      web:
        url: http://x
        method: "{{args.method}}"
      job:
        metadata: {labels: {hash: "{{args.hash}}"}}
`;
    const codes = check(t).all.map((d) => d.code);
    expect(codes).not.toContain('pattern');
  });
});
