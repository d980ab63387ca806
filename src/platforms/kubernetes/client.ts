/**
 * A small JSON client for the Kubernetes API, on @kubernetes/client-node's KubeConfig (kubeconfig
 * loading, contexts, client certificates, tokens, exec plugins) and Watch.
 *
 * Why not the generated typed APIs: they turn timestamps into Date objects and need one class per
 * kind, while the engine and the routers work on objects as the API server sends them (JSON). This
 * client takes a resource type and plain objects, and maps errors to `KubeApiError` with the API
 * server's status code and reason (NotFound, AlreadyExists, Conflict, Invalid, ...).
 */
import http from 'node:http';
import https from 'node:https';
import { KubeConfig, Watch } from '@kubernetes/client-node';

/** Where a kind lives in the API. */
export interface ResourceType {
  /** '' for the core group. */
  group: string;
  version: string;
  plural: string;
  kind: string;
  namespaced: boolean;
}

const r = (
  group: string,
  version: string,
  plural: string,
  kind: string,
  namespaced = true,
): ResourceType => ({
  group,
  version,
  plural,
  kind,
  namespaced,
});

/** The kinds the controller reads and writes. */
export const RESOURCES = {
  rollouts: r('argoproj.io', 'v1alpha1', 'rollouts', 'Rollout'),
  analysisRuns: r('argoproj.io', 'v1alpha1', 'analysisruns', 'AnalysisRun'),
  analysisTemplates: r('argoproj.io', 'v1alpha1', 'analysistemplates', 'AnalysisTemplate'),
  clusterAnalysisTemplates: r(
    'argoproj.io',
    'v1alpha1',
    'clusteranalysistemplates',
    'ClusterAnalysisTemplate',
    false,
  ),
  replicaSets: r('apps', 'v1', 'replicasets', 'ReplicaSet'),
  deployments: r('apps', 'v1', 'deployments', 'Deployment'),
  services: r('', 'v1', 'services', 'Service'),
  pods: r('', 'v1', 'pods', 'Pod'),
  secrets: r('', 'v1', 'secrets', 'Secret'),
  events: r('', 'v1', 'events', 'Event'),
  namespaces: r('', 'v1', 'namespaces', 'Namespace', false),
  ingresses: r('networking.k8s.io', 'v1', 'ingresses', 'Ingress'),
  jobs: r('batch', 'v1', 'jobs', 'Job'),
  leases: r('coordination.k8s.io', 'v1', 'leases', 'Lease'),
  traefikServices: r('traefik.io', 'v1alpha1', 'traefikservices', 'TraefikService'),
} as const satisfies Record<string, ResourceType>;

/** The resource type of an object's apiVersion + kind, among `RESOURCES`. */
export function resourceOf(apiVersion: string, kind: string): ResourceType | undefined {
  const [group, version] = apiVersion.includes('/') ? apiVersion.split('/') : ['', apiVersion];
  return Object.values(RESOURCES).find((t) => t.group === group && t.version === version && t.kind === kind);
}

/** A JSON object from the API server (only metadata is typed). */
export interface KubeJson {
  apiVersion?: string;
  kind?: string;
  metadata: {
    name: string;
    namespace?: string;
    uid?: string;
    resourceVersion?: string;
    generation?: number;
    creationTimestamp?: string;
    deletionTimestamp?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
    ownerReferences?: {
      apiVersion: string;
      kind: string;
      name: string;
      uid: string;
      controller?: boolean;
      blockOwnerDeletion?: boolean;
    }[];
    [key: string]: unknown;
  };
  [key: string]: unknown;
}

/** An error answer of the API server (a metav1.Status), or a transport failure (code 0). */
export class KubeApiError extends Error {
  /** The server's Retry-After, when it sent one. */
  retryAfterSeconds?: number;

  constructor(
    readonly code: number,
    readonly reason: string,
    message: string,
  ) {
    super(message);
    this.name = 'KubeApiError';
  }
}

export const isNotFound = (e: unknown): boolean => e instanceof KubeApiError && e.code === 404;
export const isConflict = (e: unknown): boolean => e instanceof KubeApiError && e.code === 409;
export const isAlreadyExists = (e: unknown): boolean =>
  e instanceof KubeApiError && e.code === 409 && e.reason === 'AlreadyExists';

export type PatchType = 'merge' | 'json' | 'apply';
const PATCH_CONTENT_TYPE: Record<PatchType, string> = {
  merge: 'application/merge-patch+json',
  json: 'application/json-patch+json',
  apply: 'application/apply-patch+yaml',
};

export interface WriteOptions {
  subresource?: 'status' | 'scale';
  /** `All`: server-side dry run. */
  dryRun?: 'All';
  fieldManager?: string;
}

export interface WatchEvent<T = KubeJson> {
  type: 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK' | 'ERROR';
  object: T;
}

/** The calls the controller and the CLI make; `KubeApiClient` is the real one. */
export interface KubeClient {
  /** Undefined when the object does not exist. */
  get<T extends KubeJson = KubeJson>(
    type: ResourceType,
    namespace: string | undefined,
    name: string,
    subresource?: 'status' | 'scale',
  ): Promise<T | undefined>;
  list<T extends KubeJson = KubeJson>(
    type: ResourceType,
    namespace?: string,
    opts?: { labelSelector?: string; fieldSelector?: string },
  ): Promise<{ items: T[]; resourceVersion: string }>;
  create<T extends KubeJson = KubeJson>(type: ResourceType, obj: KubeJson, opts?: WriteOptions): Promise<T>;
  /** PUT: fails with 409 Conflict when metadata.resourceVersion is stale. */
  replace<T extends KubeJson = KubeJson>(type: ResourceType, obj: KubeJson, opts?: WriteOptions): Promise<T>;
  patch<T extends KubeJson = KubeJson>(
    type: ResourceType,
    namespace: string | undefined,
    name: string,
    patch: unknown,
    opts?: WriteOptions & { type?: PatchType; force?: boolean },
  ): Promise<T>;
  /** Resolves also when the object was already gone. */
  delete(
    type: ResourceType,
    namespace: string | undefined,
    name: string,
    opts?: { propagationPolicy?: 'Foreground' | 'Background' | 'Orphan'; dryRun?: 'All' },
  ): Promise<void>;
  /** A watch from `resourceVersion`; `done` is called once when it ends (error or server timeout). */
  watch<T extends KubeJson = KubeJson>(
    type: ResourceType,
    namespace: string | undefined,
    opts: { resourceVersion?: string; labelSelector?: string; timeoutSeconds?: number },
    onEvent: (e: WatchEvent<T>) => void,
    done: (err?: unknown) => void,
  ): Promise<{ abort(): void }>;
}

/** The API path of a type, optionally in a namespace and for one object. */
export function resourcePath(type: ResourceType, namespace?: string, name?: string, sub?: string): string {
  const base = type.group === '' ? `/api/${type.version}` : `/apis/${type.group}/${type.version}`;
  const ns = type.namespaced && namespace ? `/namespaces/${encodeURIComponent(namespace)}` : '';
  const one = name ? `/${encodeURIComponent(name)}${sub ? `/${sub}` : ''}` : '';
  return `${base}${ns}/${type.plural}${one}`;
}

function query(params: Record<string, string | undefined>): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined) q.set(k, v);
  const s = q.toString();
  return s ? `?${s}` : '';
}

/** A request may not hang the controller: the API server answers in well under this. */
const REQUEST_TIMEOUT_MS = 30_000;

export interface KubeConfigOptions {
  /** A kubeconfig file (default: $KUBECONFIG, ~/.kube/config, or in-cluster). */
  kubeconfig?: string;
  context?: string;
}

export function loadKubeConfig(o: KubeConfigOptions = {}): KubeConfig {
  const kc = new KubeConfig();
  if (o.kubeconfig) kc.loadFromFile(o.kubeconfig);
  else kc.loadFromDefault();
  if (o.context) {
    if (!kc.getContextObject(o.context))
      throw new Error(
        `no context ${o.context} in the kubeconfig (have: ${
          kc
            .getContexts()
            .map((c) => c.name)
            .join(', ') || 'none'
        })`,
      );
    kc.setCurrentContext(o.context);
  }
  if (!kc.getCurrentCluster())
    throw new Error(
      'the kubeconfig names no cluster: give --kubeconfig, set KUBECONFIG, or run in a cluster',
    );
  return kc;
}

/** The namespace of the kubeconfig's current context ('default' when it names none). */
export function contextNamespace(kc: KubeConfig): string {
  return kc.getContextObject(kc.getCurrentContext())?.namespace || 'default';
}

export class KubeApiClient implements KubeClient {
  private readonly server: URL;
  private readonly watcher: Watch;

  constructor(readonly kc: KubeConfig) {
    const cluster = kc.getCurrentCluster();
    if (!cluster) throw new Error('the kubeconfig names no cluster');
    this.server = new URL(cluster.server);
    this.watcher = new Watch(kc);
  }

  /**
   * A request, retried when the API server asks for it (429 Too Many Requests: its priority and
   * fairness limits, or a new CRD's storage still initialising), after its Retry-After (at most 2 s),
   * up to 3 times, as client-go does. Other errors are the caller's.
   */
  private async request<T>(method: string, path: string, body?: unknown, contentType?: string): Promise<T> {
    for (let attempt = 0; ; attempt++) {
      try {
        return await this.requestOnce<T>(method, path, body, contentType);
      } catch (e) {
        if (!(e instanceof KubeApiError) || e.code !== 429 || attempt >= 3) throw e;
        await new Promise((r) => setTimeout(r, Math.min(2, Math.max(0.2, e.retryAfterSeconds ?? 1)) * 1000));
      }
    }
  }

  private async requestOnce<T>(
    method: string,
    path: string,
    body?: unknown,
    contentType = 'application/json',
  ): Promise<T> {
    const url = new URL(path, this.server);
    const opts: https.RequestOptions = { method, headers: { Accept: 'application/json' } };
    await this.kc.applyToHTTPSOptions(opts);
    const payload = body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body);
    const headers = opts.headers as Record<string, string>;
    if (payload !== undefined) {
      headers['Content-Type'] = contentType;
      headers['Content-Length'] = String(Buffer.byteLength(payload));
    }
    const lib = url.protocol === 'http:' ? http : https;
    return new Promise<T>((resolve, reject) => {
      const req = lib.request(url, { ...opts, timeout: REQUEST_TIMEOUT_MS }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('error', reject);
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          const code = res.statusCode ?? 0;
          let json: unknown;
          try {
            json = text ? JSON.parse(text) : undefined;
          } catch {
            json = undefined;
          }
          if (code >= 200 && code < 300) return resolve(json as T);
          const status = (json ?? {}) as { reason?: string; message?: string };
          const err = new KubeApiError(
            code,
            status.reason ?? 'Unknown',
            `${method} ${url.pathname}: ${code} ${status.reason ?? ''} ${status.message ?? text.slice(0, 300)}`.trim(),
          );
          const retryAfter = Number(res.headers['retry-after']);
          if (Number.isFinite(retryAfter)) err.retryAfterSeconds = retryAfter;
          reject(err);
        });
      });
      req.on('timeout', () =>
        req.destroy(new Error(`${method} ${url.pathname}: no answer in ${REQUEST_TIMEOUT_MS} ms`)),
      );
      req.on('error', (e) =>
        reject(
          e instanceof KubeApiError
            ? e
            : new KubeApiError(0, 'Transport', `${method} ${url.pathname}: ${e.message}`),
        ),
      );
      req.end(payload);
    });
  }

  async get<T extends KubeJson>(
    type: ResourceType,
    namespace: string | undefined,
    name: string,
    subresource?: 'status' | 'scale',
  ): Promise<T | undefined> {
    try {
      return await this.request<T>('GET', resourcePath(type, namespace, name, subresource));
    } catch (e) {
      if (isNotFound(e)) return undefined;
      throw e;
    }
  }

  async list<T extends KubeJson>(
    type: ResourceType,
    namespace?: string,
    opts: { labelSelector?: string; fieldSelector?: string } = {},
  ): Promise<{ items: T[]; resourceVersion: string }> {
    const res = await this.request<{ items?: T[]; metadata?: { resourceVersion?: string } }>(
      'GET',
      resourcePath(type, namespace) +
        query({ labelSelector: opts.labelSelector, fieldSelector: opts.fieldSelector }),
    );
    // Lists leave apiVersion/kind off their items; put them back so objects describe themselves.
    const apiVersion = type.group ? `${type.group}/${type.version}` : type.version;
    const items = (res.items ?? []).map((o) => ({ apiVersion, kind: type.kind, ...o }));
    return { items, resourceVersion: res.metadata?.resourceVersion ?? '' };
  }

  create<T extends KubeJson>(type: ResourceType, obj: KubeJson, opts: WriteOptions = {}): Promise<T> {
    return this.request<T>(
      'POST',
      resourcePath(type, obj.metadata.namespace) +
        query({ dryRun: opts.dryRun, fieldManager: opts.fieldManager }),
      obj,
    );
  }

  replace<T extends KubeJson>(type: ResourceType, obj: KubeJson, opts: WriteOptions = {}): Promise<T> {
    return this.request<T>(
      'PUT',
      resourcePath(type, obj.metadata.namespace, obj.metadata.name, opts.subresource) +
        query({ dryRun: opts.dryRun, fieldManager: opts.fieldManager }),
      obj,
    );
  }

  patch<T extends KubeJson>(
    type: ResourceType,
    namespace: string | undefined,
    name: string,
    patch: unknown,
    opts: WriteOptions & { type?: PatchType; force?: boolean } = {},
  ): Promise<T> {
    const patchType = opts.type ?? 'merge';
    return this.request<T>(
      'PATCH',
      resourcePath(type, namespace, name, opts.subresource) +
        query({
          dryRun: opts.dryRun,
          fieldManager: opts.fieldManager ?? (patchType === 'apply' ? 'vireo' : undefined),
          force: opts.force === undefined ? undefined : String(opts.force),
        }),
      patch,
      PATCH_CONTENT_TYPE[patchType],
    );
  }

  async delete(
    type: ResourceType,
    namespace: string | undefined,
    name: string,
    opts: { propagationPolicy?: 'Foreground' | 'Background' | 'Orphan'; dryRun?: 'All' } = {},
  ): Promise<void> {
    try {
      await this.request(
        'DELETE',
        resourcePath(type, namespace, name) + query({ dryRun: opts.dryRun }),
        opts.propagationPolicy
          ? { kind: 'DeleteOptions', apiVersion: 'v1', propagationPolicy: opts.propagationPolicy }
          : undefined,
      );
    } catch (e) {
      if (!isNotFound(e)) throw e;
    }
  }

  watch<T extends KubeJson>(
    type: ResourceType,
    namespace: string | undefined,
    opts: { resourceVersion?: string; labelSelector?: string; timeoutSeconds?: number },
    onEvent: (e: WatchEvent<T>) => void,
    done: (err?: unknown) => void,
  ): Promise<{ abort(): void }> {
    const params: Record<string, string | number | boolean> = { allowWatchBookmarks: true };
    if (opts.resourceVersion) params.resourceVersion = opts.resourceVersion;
    if (opts.labelSelector) params.labelSelector = opts.labelSelector;
    if (opts.timeoutSeconds) params.timeoutSeconds = opts.timeoutSeconds;
    let ended = false;
    const end = (err?: unknown) => {
      if (ended) return;
      ended = true;
      done(err);
    };
    return this.watcher
      .watch(
        resourcePath(type, namespace),
        params,
        (phase: string, object: unknown) =>
          onEvent({ type: phase as WatchEvent['type'], object: object as T }),
        end,
      )
      .then((ctrl) => ({ abort: () => ctrl.abort() }));
  }
}

/** The client for `--kubeconfig` / `--context` (or the default kubeconfig, or in-cluster). */
export function kubeClient(o: KubeConfigOptions = {}): { client: KubeApiClient; namespace: string } {
  const kc = loadKubeConfig(o);
  return { client: new KubeApiClient(kc), namespace: contextNamespace(kc) };
}
