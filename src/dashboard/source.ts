/**
 * Where the dashboard reads releases from and sends actions to. The dashboard only knows this small
 * interface; the local runtime implements it through its loopback API (`RuntimeClient`), and a
 * Kubernetes source can implement it later without touching the server or the client.
 */
import { RuntimeClient } from '../platforms/local/runtime/api.js';
import type { ReleaseView } from '../views/release.js';

/** The user actions, as the CLI verbs name them (`promote --full` is `promote` with `full`). */
export const ACTIONS = [
  'promote',
  'abort',
  'retry',
  'pause',
  'resume',
  'restart',
  'undo',
  'set-image',
] as const;
export type ActionVerb = (typeof ACTIONS)[number];

export const isActionVerb = (v: string): v is ActionVerb => (ACTIONS as readonly string[]).includes(v);

export interface ActionArgs {
  full?: boolean;
  toRevision?: number;
  container?: string;
  image?: string;
}

export interface ActionRequest {
  namespace: string;
  name: string;
  verb: ActionVerb;
  args: ActionArgs;
  /** Who asked, as the event timeline shows it (never a secret). */
  actor: string;
}

export interface ReleaseSource {
  /** Every release (of one namespace when given). */
  list(namespace?: string): Promise<ReleaseView[]>;
  get(namespace: string, name: string): Promise<ReleaseView>;
  /** Carries the action out; resolves with the platform's message, rejects with a user-facing error. */
  act(request: ActionRequest): Promise<string>;
  /** Where the sample traffic of the demo can be sent (the Service listener of `release`), if any. */
  trafficTarget?(): Promise<{ url: string; release: string } | undefined>;
}

/** The local runtime, through its API (`vireo up` or `vireo demo`). */
export class LocalRuntimeSource implements ReleaseSource {
  readonly client: RuntimeClient;

  constructor(apiUrl: string) {
    this.client = new RuntimeClient(apiUrl);
  }

  async list(namespace?: string): Promise<ReleaseView[]> {
    const q = namespace ? `?namespace=${encodeURIComponent(namespace)}` : '';
    return (await this.client.request<ReleaseView[]>('GET', `/api/v1/releases${q}`)).body;
  }

  async get(namespace: string, name: string): Promise<ReleaseView> {
    return (
      await this.client.request<ReleaseView>(
        'GET',
        `/api/v1/releases/${encodeURIComponent(namespace)}/${encodeURIComponent(name)}`,
      )
    ).body;
  }

  async act(r: ActionRequest): Promise<string> {
    const res = await this.client.request<{ message: string }>(
      'POST',
      `/api/v1/releases/${encodeURIComponent(r.namespace)}/${encodeURIComponent(r.name)}/${r.verb}`,
      { ...r.args, actor: r.actor },
    );
    return res.body.message;
  }

  /** The demo's stable Service (`rollouts-demo`), when this runtime runs the demo. */
  async trafficTarget(): Promise<{ url: string; release: string } | undefined> {
    const info = (await this.client.request<{ addresses?: Record<string, string> }>('GET', '/api/v1/runtime'))
      .body;
    const url = info.addresses?.['rollouts-demo'];
    return url ? { url, release: 'default/rollouts-demo' } : undefined;
  }
}

/** What the list shows of a release: small, so 500 of them stream cheaply. */
export interface ReleaseSummary {
  /** `namespace/name`. */
  key: string;
  dialect: ReleaseView['dialect'];
  kind: string;
  namespace: string;
  name: string;
  phase: ReleaseView['phase'];
  strategy: ReleaseView['strategy'];
  message?: string;
  step?: { index: number; count: number };
  setWeight?: number;
  actualWeight?: number;
  revision: number;
  createdAt?: string;
  pauseEndsAt?: string;
  /** Image of the stable/active/primary version and of the canary/preview one, when there is one. */
  stableImage?: string;
  canaryImage?: string;
  ready: number;
  desired: number;
}

export function summarize(v: ReleaseView): ReleaseSummary {
  const image = (roles: string[]) =>
    v.images.find((i) => i.roles.some((r) => roles.includes(r)))?.image ?? undefined;
  const stableImage = image(['stable', 'active', 'primary']);
  const canaryImage = image(['canary', 'preview']);
  return {
    key: `${v.namespace}/${v.name}`,
    dialect: v.dialect,
    kind: v.kind,
    namespace: v.namespace,
    name: v.name,
    phase: v.phase,
    strategy: v.strategy,
    ...(v.message ? { message: v.message } : {}),
    ...(v.step ? { step: v.step } : {}),
    ...(v.setWeight !== undefined ? { setWeight: v.setWeight } : {}),
    ...(v.actualWeight !== undefined ? { actualWeight: v.actualWeight } : {}),
    revision: v.revision,
    ...(v.createdAt ? { createdAt: v.createdAt } : {}),
    ...(v.pauseEndsAt ? { pauseEndsAt: v.pauseEndsAt } : {}),
    ...(stableImage ? { stableImage } : {}),
    ...(canaryImage && canaryImage !== stableImage ? { canaryImage } : {}),
    ready: v.replicas.ready,
    desired: v.replicas.desired,
  };
}
