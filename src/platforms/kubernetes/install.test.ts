/**
 * The install artifacts, checked on a real control plane (ADR 11, docs/adr/0015-install-artifacts.md):
 * every file in manifests/ and the Helm chart's renderings are accepted by the API server; the chart
 * renders the same controller and RBAC as the plain manifests; the controller's pods are admitted
 * under the "restricted" Pod Security Standard; the RBAC grants what the controller needs and nothing
 * more (asked of the API server with `kubectl auth can-i`); kubectl shows the Argo printer columns of
 * the generated Rollout CRD; and the production dependencies alone run the built CLI, as the
 * Dockerfile's runtime stage does (no container engine runs here to build the image itself).
 */
import { execFile } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { ensureBinaries, type KubeCluster, startKubeCluster } from '../../testing/kube-cluster.js';
import { repoDir } from '../../testing/upstream.js';

let cluster: KubeCluster | undefined;
const k = () => {
  if (!cluster) throw new Error('the cluster did not start (see the beforeAll error)');
  return cluster;
};
let helmHome = '';

const manifestsDir = join(repoDir, 'manifests');
const chartDir = join(repoDir, 'charts', 'vireo');
const LEASE = 'vireo-controller-lock';

interface Obj {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string };
  [key: string]: unknown;
}
interface Rule {
  apiGroups: string[];
  resources: string[];
  verbs: string[];
  resourceNames?: string[];
}
interface Subject {
  kind: string;
  name: string;
  namespace?: string;
}
interface PodSpec {
  serviceAccountName: string;
  securityContext: Record<string, unknown>;
  containers: {
    image: string;
    args: string[];
    env: { name: string; valueFrom?: { fieldRef?: { fieldPath: string } } }[];
    livenessProbe: { httpGet: { path: string; port: string } };
    readinessProbe: { httpGet: { path: string; port: string } };
    ports: { name: string; containerPort: number }[];
    securityContext: Record<string, unknown>;
    resources: { requests: Record<string, string>; limits: Record<string, string> };
  }[];
}
interface DeploymentSpec {
  replicas: number;
  template: { spec: PodSpec };
}

function docs(text: string): Obj[] {
  return parseAllDocuments(text)
    .map((d) => {
      if (d.errors.length > 0) throw new Error(d.errors.join('\n'));
      return d.toJS() as Obj | null;
    })
    .filter((o): o is Obj => o !== null);
}
const readDocs = (file: string) => docs(readFileSync(file, 'utf8'));
const find = (objs: Obj[], kind: string, name?: string): Obj => {
  const o = objs.find((x) => x.kind === kind && (name === undefined || x.metadata.name === name));
  if (!o) throw new Error(`no ${kind} ${name ?? ''} among ${objs.map((x) => x.kind).join(', ')}`);
  return o;
};
const rulesOf = (o: Obj) => o.rules as Rule[];
const deploymentOf = (objs: Obj[]) => find(objs, 'Deployment').spec as DeploymentSpec;

/** Runs a program; resolves with its exit code and output (never rejects on a non-zero exit). */
function run(
  file: string,
  args: string[],
  opts: { env?: NodeJS.ProcessEnv; cwd?: string; timeoutMs?: number; input?: string } = {},
): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = execFile(
      file,
      args,
      {
        env: { ...process.env, ...opts.env },
        cwd: opts.cwd,
        timeout: opts.timeoutMs ?? 60_000,
        maxBuffer: 32 * 2 ** 20,
      },
      (err, stdout, stderr) => {
        if (err && typeof err.code !== 'number')
          reject(new Error(`${file} ${args.join(' ')}: ${err.message}`));
        else resolve({ code: err ? (err.code as number) : 0, stdout, stderr });
      },
    );
    child.stdin?.end(opts.input ?? '');
  });
}

async function helm(args: string[]): Promise<string> {
  const r = await run(k().binaries.helm, args, {
    // helm keeps caches and repositories under these; nothing of the user's is read or written.
    env: { HELM_CACHE_HOME: helmHome, HELM_CONFIG_HOME: helmHome, HELM_DATA_HOME: helmHome },
    timeoutMs: 30_000,
  });
  if (r.code !== 0) throw new Error(`helm ${args.join(' ')} exited ${r.code}: ${r.stderr}`);
  return r.stdout;
}

/** Server-side dry run; checks every object was accepted (one "serverside-applied" line each). */
async function dryRun(text: string, namespace: string): Promise<string[]> {
  const out = await k().kubectl(['apply', '--server-side', '--dry-run=server', '-n', namespace, '-f', '-'], {
    input: text,
  });
  const lines = out.trim().split('\n');
  for (const l of lines) expect(l).toMatch(/ serverside-applied \(server dry run\)$/);
  expect(lines).toHaveLength(docs(text).length);
  return lines;
}

/** `kubectl auth can-i` as the service account: true for yes, false for no; anything else throws. */
async function canI(sa: string, verb: string, resource: string, scope: string[]): Promise<boolean> {
  const [res, sub] = resource.split(':');
  const args = [
    'auth',
    'can-i',
    verb,
    res!,
    ...scope,
    `--as=${sa}`,
    `--cache-dir=${join(k().dir, 'kube-cache')}`,
  ];
  if (sub) args.push(`--subresource=${sub}`);
  const r = await run(k().binaries.kubectl, args, { env: { KUBECONFIG: k().kubeconfigPath } });
  // kubectl sends an unknown resource type with the group glued to its name, which is always "no":
  // every resource asked about here must exist.
  if (/doesn't have a resource type/.test(r.stderr))
    throw new Error(`kubectl ${args.join(' ')}: ${r.stderr}`);
  const answer = r.stdout.trim();
  if (!((answer === 'yes' && r.code === 0) || (answer === 'no' && r.code === 1)))
    throw new Error(`kubectl ${args.join(' ')} exited ${r.code}: ${r.stdout}${r.stderr}`);
  return answer === 'yes';
}

interface Check {
  verb: string;
  resource: string;
  scope: string[];
}
/** Asks every check (4 at a time) and returns those whose answer is not `want`. */
async function mismatches(sa: string, checks: Check[], want: boolean): Promise<string[]> {
  const wrong: string[] = [];
  const queue = [...checks];
  await Promise.all(
    Array.from({ length: 4 }, async () => {
      for (let c = queue.shift(); c; c = queue.shift())
        if ((await canI(sa, c.verb, c.resource, c.scope)) !== want)
          wrong.push(`${c.verb} ${c.resource} ${c.scope.join(' ')}`);
    }),
  );
  return wrong.sort();
}

/**
 * What the controller reads and writes (issue 6), written out here rather than read from the
 * manifests, so the manifests are checked against it. `resource:sub` names a subresource.
 */
const NEEDS: [resource: string, verbs: string][] = [
  ['rollouts.argoproj.io', 'get list watch update patch'],
  ['rollouts.argoproj.io:status', 'update patch'],
  ['rollouts.argoproj.io:scale', 'get update patch'],
  ['rollouts.argoproj.io:finalizers', 'update'],
  ['analysisruns.argoproj.io', 'get list watch create update patch delete'],
  ['analysisruns.argoproj.io:status', 'update patch'],
  ['analysisruns.argoproj.io:finalizers', 'update'],
  ['analysistemplates.argoproj.io', 'get list watch'],
  ['experiments.argoproj.io', 'get list watch'],
  ['replicasets.apps', 'get list watch create update patch delete'],
  ['deployments.apps', 'get list watch update patch'],
  ['services', 'get list watch patch update'],
  // patch: ephemeral metadata (canaryMetadata/stableMetadata) on running pods; not in issue 6's list.
  ['pods', 'get list watch patch'],
  ['pods:eviction', 'create'],
  ['secrets', 'get'],
  ['events', 'create patch'],
  ['ingresses.networking.k8s.io', 'get list watch create update patch'],
  ['traefikservices.traefik.io', 'get list watch create update patch'],
  ['traefikservices.traefik.containo.us', 'get list watch create update patch'],
  ['jobs.batch', 'get list watch create delete'],
  ['events.events.k8s.io', 'create patch'],
];
const CLUSTER_TEMPLATES: [string, string] = ['clusteranalysistemplates.argoproj.io', 'get list watch'];
/** Lease access in the controller's namespace: create any, get and update only its own lease. */
const leaseNeeds = (ns: string): Check[] => [
  { verb: 'create', resource: 'leases.coordination.k8s.io', scope: ['-n', ns] },
  { verb: 'get', resource: `leases.coordination.k8s.io/${LEASE}`, scope: ['-n', ns] },
  { verb: 'update', resource: `leases.coordination.k8s.io/${LEASE}`, scope: ['-n', ns] },
];
const expand = (needs: [string, string][], scope: string[]): Check[] =>
  needs.flatMap(([resource, verbs]) => verbs.split(' ').map((verb) => ({ verb, resource, scope })));

/** Things a progressive-delivery controller has no business doing (in `ns`). */
const forbidden = (ns: string[]): Check[] =>
  [
    ['list', 'secrets'],
    ['watch', 'secrets'],
    ['create', 'secrets'],
    ['delete', 'pods'],
    ['create', 'pods'],
    ['create', 'pods:exec'],
    ['create', 'deployments.apps'],
    ['delete', 'deployments.apps'],
    ['create', 'configmaps'],
    ['get', 'configmaps'],
    ['create', 'services'],
    ['delete', 'services'],
    ['delete', 'ingresses.networking.k8s.io'],
    ['create', 'rollouts.argoproj.io'],
    ['delete', 'rollouts.argoproj.io'],
    ['create', 'analysistemplates.argoproj.io'],
    ['update', 'jobs.batch'],
    ['create', 'serviceaccounts:token'],
    ['create', 'rolebindings.rbac.authorization.k8s.io'],
    ['delete', 'leases.coordination.k8s.io'],
    ['update', 'leases.coordination.k8s.io/another-lock'],
  ].map(([verb, resource]) => ({ verb: verb!, resource: resource!, scope: ns }));
const forbiddenClusterScoped: Check[] = [
  { verb: 'get', resource: 'nodes', scope: [] },
  { verb: 'list', resource: 'namespaces', scope: [] },
  { verb: 'create', resource: 'clusterroles.rbac.authorization.k8s.io', scope: [] },
  { verb: 'create', resource: 'clusterrolebindings.rbac.authorization.k8s.io', scope: [] },
  { verb: 'create', resource: 'customresourcedefinitions.apiextensions.k8s.io', scope: [] },
  { verb: 'create', resource: 'clusteranalysistemplates.argoproj.io', scope: [] },
];

/** Stand-ins for Traefik's TraefikService CRDs, so that kubectl can resolve both groups. */
const traefikStandIn = (group: string) => ({
  apiVersion: 'apiextensions.k8s.io/v1',
  kind: 'CustomResourceDefinition',
  metadata: { name: `traefikservices.${group}` },
  spec: {
    group,
    scope: 'Namespaced',
    names: {
      kind: 'TraefikService',
      plural: 'traefikservices',
      singular: 'traefikservice',
      listKind: 'TraefikServiceList',
    },
    versions: [
      {
        name: 'v1alpha1',
        served: true,
        storage: true,
        schema: { openAPIV3Schema: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true } },
      },
    ],
  },
});

/** Namespaces where the Pod Security admission enforces "restricted" on the controller's pods. */
const restrictedNamespace = (name: string) => ({
  apiVersion: 'v1',
  kind: 'Namespace',
  metadata: { name, labels: { 'pod-security.kubernetes.io/enforce': 'restricted' } },
});

describe('install artifacts on a real API server', () => {
  beforeAll(async () => {
    await ensureBinaries(); // the first time: ~18 min of Go builds (ADR 11)
    cluster = await startKubeCluster({ nodes: 2 });
    helmHome = mkdtempSync(join(tmpdir(), 'vireo-helm-'));
    // Users create the namespace themselves (install.yaml has none), then apply the CRDs for real.
    await k().kubectl(['apply', '-f', '-'], {
      input: JSON.stringify({
        apiVersion: 'v1',
        kind: 'List',
        items: ['vireo', 'team-a', 'team-b', 'helm-probe'].map(restrictedNamespace),
      }),
    });
    await k().kubectl(['apply', '-f', '-'], {
      input: JSON.stringify({
        apiVersion: 'v1',
        kind: 'List',
        items: ['traefik.io', 'traefik.containo.us'].map(traefikStandIn),
      }),
    });
    await k().applyCrds([join(manifestsDir, 'crds')]);
  }, 75 * 60_000);

  afterAll(async () => {
    await cluster?.stop();
    if (helmHome) rmSync(helmHome, { recursive: true, force: true });
  }, 60_000);

  it('the generated CRDs are established', async () => {
    const names = (await k().kubectl(['get', 'crd', '-o', 'name'])).trim().split('\n');
    for (const f of readdirSync(join(manifestsDir, 'crds')))
      expect(names).toContain(`customresourcedefinition.apiextensions.k8s.io/${f.replace(/\.yaml$/, '')}`);
  });

  it('every file in manifests/ passes a server-side dry run in namespace vireo', async () => {
    const files = readdirSync(manifestsDir).filter((f) => f.endsWith('.yaml'));
    expect(files).toEqual(expect.arrayContaining(['install.yaml', 'namespace-install.yaml']));
    for (const f of files) await dryRun(readFileSync(join(manifestsDir, f), 'utf8'), 'vireo');
  }, 60_000);

  it('manifests name no namespace but the ClusterRoleBinding subject, so `kubectl apply -n` places them', () => {
    for (const f of ['install.yaml', 'namespace-install.yaml']) {
      for (const o of readDocs(join(manifestsDir, f))) {
        expect(o.metadata.namespace, `${f} ${o.kind}`).toBeUndefined();
        const subjects = (o.subjects ?? []) as Subject[];
        if (o.kind === 'ClusterRoleBinding')
          expect(subjects).toEqual([{ kind: 'ServiceAccount', name: 'vireo', namespace: 'vireo' }]);
        else for (const s of subjects) expect(s.namespace, `${f} ${o.kind}`).toBeUndefined();
      }
    }
    expect(readDocs(join(manifestsDir, 'namespace-install.yaml')).map((o) => o.kind)).not.toContain(
      'ClusterRole',
    );
  });

  it('the Deployment runs 2 leader-elected, locked-down replicas with probes and the downward API', () => {
    for (const f of ['install.yaml', 'namespace-install.yaml']) {
      const d = deploymentOf(readDocs(join(manifestsDir, f)));
      expect(d.replicas).toBe(2);
      const pod = d.template.spec;
      expect(pod.serviceAccountName).toBe('vireo');
      expect(pod.securityContext).toMatchObject({
        runAsNonRoot: true,
        seccompProfile: { type: 'RuntimeDefault' },
      });
      const [c] = pod.containers;
      expect(c!.image).toBe('ghcr.io/vireo-dev/vireo:0.1.0');
      expect(c!.args[0]).toBe('controller');
      expect(c!.args).toContain('--leader-elect');
      expect(c!.args.includes('--namespace=$(POD_NAMESPACE)')).toBe(f === 'namespace-install.yaml');
      expect(c!.env.map((e) => [e.name, e.valueFrom?.fieldRef?.fieldPath])).toEqual([
        ['POD_NAME', 'metadata.name'],
        ['POD_NAMESPACE', 'metadata.namespace'],
      ]);
      expect(c!.securityContext).toEqual({
        allowPrivilegeEscalation: false,
        readOnlyRootFilesystem: true,
        capabilities: { drop: ['ALL'] },
      });
      const port = (name: string) => c!.ports.find((p) => p.name === name)?.containerPort;
      expect([c!.livenessProbe.httpGet.path, port(c!.livenessProbe.httpGet.port)]).toEqual([
        '/healthz',
        8080,
      ]);
      expect([c!.readinessProbe.httpGet.path, port(c!.readinessProbe.httpGet.port)]).toEqual([
        '/readyz',
        8080,
      ]);
      expect(port('metrics')).toBe(8090);
      expect(Object.keys(c!.resources.requests).sort()).toEqual(['cpu', 'memory']);
      expect(Object.keys(c!.resources.limits).sort()).toEqual(['cpu', 'memory']);
    }
  });

  it('helm lint passes, also with namespaced=true', async () => {
    for (const set of [[], ['--set', 'namespaced=true']]) {
      const out = await helm(['lint', '--strict', chartDir, ...set]);
      expect(out).toContain('1 chart(s) linted, 0 chart(s) failed');
    }
  });

  it.each([
    ['default values', [], 'ClusterRole'],
    ['namespaced=true', ['--set', 'namespaced=true'], 'Role'],
    ['instanceID=x', ['--set', 'instanceID=x'], 'ClusterRole'],
  ])(
    'helm template with %s renders objects the API server accepts',
    async (_name, set, roleKind) => {
      const rendered = await helm(['template', 'probe', chartDir, '-n', 'helm-probe', ...set]);
      const objs = docs(rendered);
      const kinds = objs.map((o) => o.kind);
      expect(kinds).toContain(roleKind);
      expect(kinds.includes('ClusterRole')).toBe(roleKind === 'ClusterRole');
      expect(kinds.includes('ClusterRoleBinding')).toBe(roleKind === 'ClusterRole');
      const args = deploymentOf(objs).template.spec.containers[0]!.args;
      expect(args.includes('--namespace=$(POD_NAMESPACE)')).toBe(set.includes('namespaced=true'));
      expect(args.includes('--instance-id=x')).toBe(set.includes('instanceID=x'));
      // The lease the controller will name is the one its Role lets it update.
      const lease = set.includes('instanceID=x') ? `${LEASE}-x` : LEASE;
      const leaseRule = objs
        .filter((o) => o.kind === 'Role')
        .flatMap(rulesOf)
        .find((r) => r.resourceNames !== undefined);
      expect(leaseRule).toEqual({
        apiGroups: ['coordination.k8s.io'],
        resources: ['leases'],
        resourceNames: [lease],
        verbs: ['get', 'update'],
      });
      await dryRun(rendered, 'helm-probe');
    },
    60_000,
  );

  it('the chart carries the generated CRDs (helm template --include-crds)', async () => {
    const rendered = docs(await helm(['template', 'probe', chartDir, '--include-crds']));
    const crds = rendered.filter((o) => o.kind === 'CustomResourceDefinition');
    const files = readdirSync(join(manifestsDir, 'crds')).sort();
    expect(crds.map((c) => `${c.metadata.name}.yaml`).sort()).toEqual(files);
    for (const c of crds)
      expect(c).toEqual(readDocs(join(manifestsDir, 'crds', `${c.metadata.name}.yaml`))[0]);
  });

  it('the chart refuses values that cannot work', async () => {
    const fails = async (set: string[], message: RegExp) => {
      const r = await run(k().binaries.helm, ['template', 'probe', chartDir, ...set], {
        env: { HELM_CACHE_HOME: helmHome, HELM_CONFIG_HOME: helmHome, HELM_DATA_HOME: helmHome },
      });
      expect(r.code).not.toBe(0);
      expect(r.stderr).toMatch(message);
    };
    await fails(['--set', 'leaderElect=false'], /replicaCount > 1 needs leaderElect/);
    await fails(['--set', 'logFormat=xml'], /logFormat/);
    await fails(['--set', 'logLevel=verbose'], /logLevel/);
  });

  it('the chart with default values renders the controller and RBAC of manifests/ (release vireo)', async () => {
    for (const [file, set] of [
      ['install.yaml', []],
      ['namespace-install.yaml', ['--set', 'namespaced=true']],
    ] as const) {
      const plain = readDocs(join(manifestsDir, file));
      const chart = docs(await helm(['template', 'vireo', chartDir, '-n', 'vireo', ...set]));
      const ids = (objs: Obj[]) => objs.map((o) => `${o.kind}/${o.metadata.name}`).sort();
      expect(ids(chart), file).toEqual(ids(plain));
      for (const o of plain) {
        const twin = find(chart, o.kind, o.metadata.name);
        if (o.rules) expect(twin.rules, `${file} ${o.kind}`).toEqual(o.rules);
        if (o.roleRef) expect(twin.roleRef, `${file} ${o.kind}`).toEqual(o.roleRef);
      }
      expect(deploymentOf(chart).replicas).toBe(deploymentOf(plain).replicas);
      expect(deploymentOf(chart).template.spec, file).toEqual(deploymentOf(plain).template.spec);
      expect((find(chart, 'Service').spec as { ports: unknown }).ports).toEqual(
        (find(plain, 'Service').spec as { ports: unknown }).ports,
      );
    }
  }, 30_000);

  describe('least privilege, asked of the API server', () => {
    const sa = 'system:serviceaccount:vireo:vireo';

    it('install.yaml: its pods are admitted under "restricted" and become Ready', async () => {
      await k().kubectl(['apply', '--server-side', '-n', 'vireo', '-f', join(manifestsDir, 'install.yaml')]);
      await k().kubectl(
        ['rollout', 'status', '-n', 'vireo', 'deployment/vireo-controller', '--timeout=90s'],
        {
          timeoutMs: 100_000,
        },
      );
      // The metrics Service selects both replicas.
      const slices = JSON.parse(
        await k().kubectl([
          'get',
          'endpointslices',
          '-n',
          'vireo',
          '-l',
          'kubernetes.io/service-name=vireo-controller-metrics',
          '-o',
          'json',
        ]),
      ) as { items: { endpoints?: unknown[]; ports: { port: number }[] }[] };
      expect(slices.items.flatMap((s) => s.endpoints ?? [])).toHaveLength(2);
      expect(slices.items[0]?.ports.map((p) => p.port)).toEqual([8090]);
    }, 120_000);

    it('install.yaml: everything the controller needs, in every namespace', async () => {
      const checks = [
        ...expand([...NEEDS, CLUSTER_TEMPLATES], ['--all-namespaces']),
        ...expand(NEEDS.slice(0, 3), ['-n', 'default']),
        ...leaseNeeds('vireo'),
      ];
      expect(checks.length).toBeGreaterThan(80);
      expect(await mismatches(sa, checks, true)).toEqual([]);
    }, 60_000);

    it('install.yaml: nothing it does not need', async () => {
      const checks = [
        ...forbidden(['--all-namespaces']),
        ...forbidden(['-n', 'vireo']),
        ...forbiddenClusterScoped,
        // Its lease lives in its own namespace only.
        ...leaseNeeds('default'),
      ];
      expect(await mismatches(sa, checks, false)).toEqual([]);
    }, 60_000);

    const nsa = 'system:serviceaccount:team-a:vireo';

    it('namespace-install.yaml: its pods are admitted under "restricted" and become Ready', async () => {
      await k().kubectl([
        'apply',
        '--server-side',
        '-n',
        'team-a',
        '-f',
        join(manifestsDir, 'namespace-install.yaml'),
      ]);
      await k().kubectl(
        ['rollout', 'status', '-n', 'team-a', 'deployment/vireo-controller', '--timeout=90s'],
        {
          timeoutMs: 100_000,
        },
      );
    }, 120_000);

    it('namespace-install.yaml: everything the controller needs in its namespace', async () => {
      const checks = [...expand(NEEDS, ['-n', 'team-a']), ...leaseNeeds('team-a')];
      expect(await mismatches(nsa, checks, true)).toEqual([]);
    }, 60_000);

    it('namespace-install.yaml: nothing in other namespaces, nothing cluster-scoped', async () => {
      const checks = [
        ...expand(NEEDS, ['-n', 'team-b']),
        ...expand(NEEDS, ['--all-namespaces']).filter((c) => c.verb === 'list' || c.verb === 'watch'),
        ...leaseNeeds('team-b'),
        ...expand([CLUSTER_TEMPLATES], ['--all-namespaces']),
        ...forbidden(['-n', 'team-a']),
        ...forbiddenClusterScoped,
      ];
      expect(await mismatches(nsa, checks, false)).toEqual([]);
    }, 60_000);
  });

  it('kubectl get rollouts prints the Argo printer columns', async () => {
    const rollout = {
      apiVersion: 'argoproj.io/v1alpha1',
      kind: 'Rollout',
      metadata: { name: 'printer-demo', namespace: 'default' },
      spec: {
        replicas: 3,
        selector: { matchLabels: { app: 'printer-demo' } },
        template: {
          metadata: { labels: { app: 'printer-demo' } },
          spec: { containers: [{ name: 'app', image: 'argoproj/rollouts-demo:blue' }] },
        },
        strategy: { canary: { steps: [{ setWeight: 20 }, { pause: {} }] } },
      },
    };
    await k().kubectl(['apply', '-f', '-'], { input: JSON.stringify(rollout) });
    // No controller runs its pods here, so the status a controller would write is written by hand.
    await k().kubectl([
      'patch',
      'rollout',
      'printer-demo',
      '-n',
      'default',
      '--subresource=status',
      '--type=merge',
      '-p',
      JSON.stringify({ status: { replicas: 3, updatedReplicas: 1, availableReplicas: 2 } }),
    ]);
    for (const name of ['rollouts', 'ro']) {
      const [header, row, ...rest] = (await k().kubectl(['get', name, '-n', 'default'])).trim().split('\n');
      expect(header!.split(/\s+/)).toEqual(['NAME', 'DESIRED', 'CURRENT', 'UP-TO-DATE', 'AVAILABLE', 'AGE']);
      expect(row!.split(/\s+/).slice(0, 5)).toEqual(['printer-demo', '3', '3', '1', '2']);
      expect(rest).toEqual([]);
    }
  });
});

describe('the production dependency set (the Dockerfile runtime stage)', () => {
  // A fresh compile rather than the checkout's dist/, which may be older than src/ while developing.
  it('runs the built CLI with `npm ci --omit=dev` alone', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'vireo-prod-'));
    try {
      const tsc = await run(
        process.execPath,
        [
          join(repoDir, 'node_modules', 'typescript', 'bin', 'tsc'),
          '-p',
          join(repoDir, 'tsconfig.build.json'),
          '--outDir',
          join(dir, 'dist'),
          '--declaration',
          'false',
          '--sourceMap',
          'false',
        ],
        { timeoutMs: 90_000 },
      );
      // Exit 2 is "type errors, output written": the typecheck is `npm run typecheck`'s job, and another
      // file being edited must not fail this test; anything else means no output.
      expect([0, 2], tsc.stdout).toContain(tsc.code);
      expect(existsSync(join(dir, 'dist', 'cli', 'main.js'))).toBe(true);
      for (const f of ['package.json', 'package-lock.json']) cpSync(join(repoDir, f), join(dir, f));
      const npm = await run(
        'npm',
        ['ci', '--omit=dev', '--ignore-scripts', '--prefer-offline', '--no-audit', '--no-fund'],
        { cwd: dir, timeoutMs: 90_000 },
      );
      expect(npm.code, npm.stderr).toBe(0);
      // The dev tools really are absent, so a stray import of one would fail below.
      for (const dev of ['typescript', 'vitest', 'tsx', '@biomejs/biome'])
        expect(existsSync(join(dir, 'node_modules', dev)), dev).toBe(false);
      // TODO: also run `controller --help` once `vireo controller` is registered in src/cli/main.ts.
      const help = await run(process.execPath, ['dist/cli/main.js', '--help'], {
        cwd: dir,
        env: { NODE_ENV: 'production' },
      });
      expect(help.code, help.stderr).toBe(0);
      expect(help.stdout).toContain('Usage: vireo');
      const version = await run(process.execPath, ['dist/cli/main.js', 'version'], { cwd: dir });
      expect(version.code, version.stderr).toBe(0);
      expect(version.stdout).toContain(
        (JSON.parse(readFileSync(join(repoDir, 'package.json'), 'utf8')) as { version: string }).version,
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 150_000);
});
