import { describe, expect, it } from 'vitest';
import type { ReleaseView, VersionView } from '../../views/release.js';
import {
  ageText,
  displayWidth,
  renderReleaseList,
  renderReleaseTree,
  renderStatusLine,
  stripAnsi,
} from './release.js';

const now = new Date('2024-05-01T12:00:00Z');
/** RFC 3339 time `s` seconds before `now`. */
const ago = (s: number) => new Date(now.getTime() - s * 1000).toISOString();
const H = 3600;
const D = 24 * H;

const pod = (
  name: string,
  startedAgo: number,
  extra: Partial<ReleaseView['versions'][0]['pods'][0]> = {},
) => ({
  name,
  phase: 'Running',
  ready: true,
  restarts: 0,
  startedAt: ago(startedAgo),
  ...extra,
});

/** Argo canary paused at its second step (index 1 of 8) with weight 20 and a background analysis. */
const canaryMidRelease: ReleaseView = {
  dialect: 'argo',
  kind: 'Rollout',
  namespace: 'default',
  name: 'rollouts-demo',
  phase: 'Paused',
  message: 'CanaryPauseStep',
  pauseReasons: ['CanaryPauseStep'],
  strategy: 'Canary',
  step: { index: 1, count: 8 },
  setWeight: 20,
  actualWeight: 20,
  images: [
    { image: 'argoproj/rollouts-demo:blue', roles: ['stable'] },
    { image: 'argoproj/rollouts-demo:yellow', roles: ['canary'] },
  ],
  replicas: { desired: 5, current: 5, updated: 1, ready: 5, available: 5 },
  revision: 2,
  createdAt: ago(3 * D + 5 * H),
  versions: [
    {
      name: 'rollouts-demo-6cf78c66c5',
      hash: '6cf78c66c5',
      revision: 2,
      roles: ['canary'],
      images: ['argoproj/rollouts-demo:yellow'],
      status: 'Healthy',
      desired: 1,
      current: 1,
      ready: 1,
      available: 1,
      createdAt: ago(192),
      pods: [pod('rollouts-demo-6cf78c66c5-qz7mn', 190)],
    },
    {
      name: 'rollouts-demo-687d76d795',
      hash: '687d76d795',
      revision: 1,
      roles: ['stable'],
      images: ['argoproj/rollouts-demo:blue'],
      status: 'Healthy',
      desired: 4,
      current: 4,
      ready: 4,
      available: 4,
      createdAt: ago(3 * D + 5 * H),
      pods: [
        pod('rollouts-demo-687d76d795-75k57', 3 * D + 5 * H),
        pod('rollouts-demo-687d76d795-hwxmv', 2 * H + 5 * 60, { restarts: 2 }),
        pod('rollouts-demo-687d76d795-t2wbq', 3 * D + 5 * H),
        pod('rollouts-demo-687d76d795-vh4nx', 3 * D + 5 * H),
      ],
    },
  ],
  analysisRuns: [
    {
      name: 'rollouts-demo-6cf78c66c5-2',
      revision: 2,
      kind: 'background',
      phase: 'Running',
      startedAt: ago(185),
      metrics: [
        {
          name: 'success-rate',
          phase: 'Running',
          condition: 'result[0] >= 0.95',
          successful: 4,
          failed: 0,
          inconclusive: 0,
          errors: 0,
          measurements: [
            { phase: 'Successful', value: '0.995', startedAt: ago(180) },
            { phase: 'Successful', value: '0.991', startedAt: ago(120) },
            { phase: 'Successful', value: '0.987', startedAt: ago(60) },
            { phase: 'Successful', value: '0.962', startedAt: ago(0) },
          ],
        },
        {
          name: 'latency-p99',
          phase: 'Running',
          condition: 'result[0] < 500',
          successful: 2,
          failed: 0,
          inconclusive: 0,
          errors: 1,
          measurements: [
            { phase: 'Successful', value: '212', startedAt: ago(120) },
            { phase: 'Error', message: 'connection refused', startedAt: ago(60) },
            { phase: 'Successful', value: '245', startedAt: ago(0) },
          ],
        },
      ],
    },
    {
      name: 'rollouts-demo-687d76d795-1',
      revision: 1,
      kind: 'background',
      phase: 'Successful',
      startedAt: ago(3 * D + 5 * H),
      metrics: [
        {
          name: 'success-rate',
          phase: 'Successful',
          condition: 'result[0] >= 0.95',
          successful: 10,
          failed: 0,
          inconclusive: 0,
          errors: 0,
          measurements: [{ phase: 'Successful', value: '0.999' }],
        },
      ],
    },
  ],
  events: [
    {
      at: ago(3 * D + 5 * H),
      type: 'Normal',
      reason: 'RolloutCompleted',
      message: 'Rollout completed update to revision 1 (687d76d795): Initial deploy',
    },
    { at: ago(195), type: 'Normal', reason: 'RolloutUpdated', message: 'Rollout updated to revision 2' },
    {
      at: ago(193),
      type: 'Normal',
      reason: 'NewReplicaSetCreated',
      message: 'Created ReplicaSet rollouts-demo-6cf78c66c5 (revision 2)',
    },
    {
      at: ago(192),
      type: 'Normal',
      reason: 'ScalingReplicaSet',
      message: 'Scaled up ReplicaSet rollouts-demo-6cf78c66c5 (revision 2) from 0 to 1',
    },
    {
      at: ago(186),
      type: 'Normal',
      reason: 'RolloutStepCompleted',
      message: 'Rollout step 1/8 completed (setWeight: 20)',
    },
    {
      at: ago(185),
      type: 'Normal',
      reason: 'AnalysisRunRunning',
      message: "Analysis Run 'rollouts-demo-6cf78c66c5-2' Status New: 'Running' Previous: 'Pending'",
    },
    { at: ago(185), type: 'Normal', reason: 'RolloutPaused', message: 'Rollout is paused (CanaryPauseStep)' },
  ],
};

const bgVersion = (
  name: string,
  revision: number,
  role: 'active' | 'preview',
  image: string,
  age: number,
  port: number,
): VersionView => ({
  name,
  hash: name.slice(-10),
  revision,
  roles: [role],
  images: [image],
  status: 'Healthy',
  desired: 2,
  current: 2,
  ready: 2,
  available: 2,
  createdAt: ago(age),
  pods: [
    pod(`${name}-1`, age, { pid: 4100 + port, port }),
    pod(`${name}-2`, age, { pid: 4101 + port, port: port + 1 }),
  ],
});

/** Argo blue/green on the local runtime, waiting to promote its preview. */
const blueGreen: ReleaseView = {
  dialect: 'argo',
  kind: 'Rollout',
  namespace: 'default',
  name: 'bluegreen-demo',
  phase: 'Paused',
  message: 'BlueGreenPause',
  pauseReasons: ['BlueGreenPause'],
  strategy: 'BlueGreen',
  images: [
    { image: 'argoproj/rollouts-demo:blue', roles: ['active'] },
    { image: 'argoproj/rollouts-demo:green', roles: ['preview'] },
  ],
  replicas: { desired: 2, current: 4, updated: 2, ready: 4, available: 2 },
  revision: 2,
  createdAt: ago(45 * 60),
  versions: [
    bgVersion('bluegreen-demo-74b948fccb', 2, 'preview', 'argoproj/rollouts-demo:green', 45, 8083),
    bgVersion('bluegreen-demo-5c9fbb6fbd', 1, 'active', 'argoproj/rollouts-demo:blue', 45 * 60, 8081),
  ],
  analysisRuns: [],
  events: [
    { at: ago(46), type: 'Normal', reason: 'RolloutUpdated', message: 'Rollout updated to revision 2' },
    { at: ago(30), type: 'Normal', reason: 'RolloutPaused', message: 'Rollout is paused (BlueGreenPause)' },
  ],
};

const abortMessage = 'Metric "error-rate" assessed Failed due to failed (2) > failureLimit (1)';

/** Argo canary aborted by a failed step analysis; the canary is scaled down. */
const degraded: ReleaseView = {
  dialect: 'argo',
  kind: 'Rollout',
  namespace: 'shop',
  name: 'checkout',
  phase: 'Degraded',
  message: `RolloutAborted: Rollout aborted update to revision 3: ${abortMessage}`,
  strategy: 'Canary',
  step: { index: 0, count: 6 },
  setWeight: 0,
  actualWeight: 0,
  images: [{ image: 'shop/checkout:1.8.0', roles: ['stable'] }],
  replicas: { desired: 3, current: 3, updated: 0, ready: 3, available: 3 },
  revision: 3,
  createdAt: ago(40 * D),
  versions: [
    {
      name: 'checkout-7d9f8b6c4',
      hash: '7d9f8b6c4',
      revision: 3,
      roles: [],
      images: ['shop/checkout:1.9.0'],
      status: 'ScaledDown',
      desired: 0,
      current: 0,
      ready: 0,
      available: 0,
      createdAt: ago(14 * 60),
      pods: [],
    },
    {
      name: 'checkout-5b8c7d6e9',
      hash: '5b8c7d6e9',
      revision: 2,
      roles: ['stable'],
      images: ['shop/checkout:1.8.0'],
      status: 'Healthy',
      desired: 3,
      current: 3,
      ready: 3,
      available: 3,
      createdAt: ago(6 * D),
      pods: [
        pod('checkout-5b8c7d6e9-8kq2x', 6 * D),
        pod('checkout-5b8c7d6e9-jx7pl', 6 * D),
        pod('checkout-5b8c7d6e9-w4zrn', 20 * H),
      ],
    },
  ],
  analysisRuns: [
    {
      name: 'checkout-7d9f8b6c4-3-1',
      revision: 3,
      kind: 'step',
      phase: 'Failed',
      message: abortMessage,
      startedAt: ago(13 * 60),
      metrics: [
        {
          name: 'error-rate',
          phase: 'Failed',
          condition: 'result[0] <= 0.01',
          successful: 1,
          failed: 2,
          inconclusive: 0,
          errors: 1,
          measurements: [
            { phase: 'Successful', value: '0.004' },
            { phase: 'Failed', value: '0.031' },
            { phase: 'Error', message: 'context deadline exceeded' },
            { phase: 'Failed', value: '0.047' },
          ],
        },
      ],
    },
  ],
  events: [
    { at: ago(14 * 60), type: 'Normal', reason: 'RolloutUpdated', message: 'Rollout updated to revision 3' },
    {
      at: ago(10 * 60),
      type: 'Warning',
      reason: 'AnalysisRunFailed',
      message: `Analysis Run 'checkout-7d9f8b6c4-3-1' Status New: 'Failed' Previous: 'Running'`,
    },
    {
      at: ago(10 * 60),
      type: 'Warning',
      reason: 'RolloutAborted',
      message: `Rollout aborted update to revision 3: ${abortMessage}`,
    },
  ],
};

/** Flagger Canary advancing its weight; primary and canary Deployments. */
const flagger: ReleaseView = {
  dialect: 'flagger',
  kind: 'Canary',
  namespace: 'test',
  name: 'podinfo',
  phase: 'Progressing',
  message: 'Advance podinfo.test canary weight 30',
  strategy: 'Flagger',
  step: { index: 3, count: 10 },
  setWeight: 30,
  actualWeight: 30,
  images: [
    { image: 'ghcr.io/stefanprodan/podinfo:6.0.0', roles: ['primary'] },
    { image: 'ghcr.io/stefanprodan/podinfo:6.0.1', roles: ['canary'] },
  ],
  replicas: { desired: 2, current: 4, updated: 2, ready: 4, available: 4 },
  revision: 2,
  createdAt: ago(2 * D),
  versions: [
    {
      name: 'podinfo',
      hash: '7c9d5b8f46',
      revision: 2,
      roles: ['canary'],
      images: ['ghcr.io/stefanprodan/podinfo:6.0.1'],
      status: 'Healthy',
      desired: 2,
      current: 2,
      ready: 2,
      available: 2,
      createdAt: ago(2 * D),
      pods: [pod('podinfo-7c9d5b8f46-k2x8p', 4 * 60), pod('podinfo-7c9d5b8f46-r9m3t', 4 * 60)],
    },
    {
      name: 'podinfo-primary',
      hash: '5f8d9c7b6a',
      revision: 1,
      roles: ['primary'],
      images: ['ghcr.io/stefanprodan/podinfo:6.0.0'],
      status: 'Healthy',
      desired: 2,
      current: 2,
      ready: 2,
      available: 2,
      createdAt: ago(2 * D),
      pods: [pod('podinfo-primary-5f8d9c7b6a-abcde', 2 * D), pod('podinfo-primary-5f8d9c7b6a-fghij', 2 * D)],
    },
  ],
  analysisRuns: [
    {
      name: 'podinfo',
      revision: 2,
      kind: 'canary',
      phase: 'Running',
      startedAt: ago(3 * 60),
      metrics: [
        {
          name: 'request-success-rate',
          phase: 'Running',
          condition: 'min 99',
          successful: 3,
          failed: 0,
          inconclusive: 0,
          errors: 0,
          measurements: [
            { phase: 'Successful', value: '99.8' },
            { phase: 'Successful', value: '99.9' },
            { phase: 'Successful', value: '100' },
          ],
        },
        {
          name: 'request-duration',
          phase: 'Running',
          condition: 'max 500',
          successful: 3,
          failed: 0,
          inconclusive: 0,
          errors: 0,
          measurements: [
            { phase: 'Successful', value: '312' },
            { phase: 'Successful', value: '298' },
            { phase: 'Successful', value: '305' },
          ],
        },
      ],
    },
  ],
  events: [
    {
      at: ago(4 * 60),
      type: 'Normal',
      reason: 'Synced',
      message: 'New revision detected! Scaling up podinfo.test',
    },
    {
      at: ago(3 * 60),
      type: 'Normal',
      reason: 'Synced',
      message: 'Starting canary analysis for podinfo.test',
    },
    { at: ago(2 * 60), type: 'Normal', reason: 'Synced', message: 'Advance podinfo.test canary weight 10' },
    { at: ago(60), type: 'Normal', reason: 'Synced', message: 'Advance podinfo.test canary weight 20' },
    { at: ago(0), type: 'Normal', reason: 'Synced', message: 'Advance podinfo.test canary weight 30' },
  ],
};

// ---- helpers for the property checks ----

const ESC = '\u001b';
const wideChar =
  /[\u1100-\u115f\u2e80-\u303e\u3041-\u33ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7a3\uff00-\uff60]/u;

/** One entry per terminal column (a wide character is followed by an empty filler). */
function columns(line: string): string[] {
  const out: string[] = [];
  for (const ch of line) {
    out.push(ch);
    if (wideChar.test(ch)) out.push('');
  }
  return out;
}

/**
 * Problems with a table (header line first, ANSI already stripped): every cell must start exactly
 * at its header's column, after at least two blanks.
 */
function misaligned(block: string[]): string[] {
  const [head, ...rows] = block;
  if (head === undefined) return ['empty table'];
  const indent = head.length - head.trimStart().length;
  const starts = [...head.matchAll(/ {2,}(?=\S)/g)]
    .map((m) => m.index + m[0].length)
    .filter((p) => p > indent);
  const problems: string[] = [];
  for (const row of rows) {
    const c = columns(row);
    for (const p of starts) {
      if (c.length <= p) break;
      if (c[p - 2] !== ' ' || c[p - 1] !== ' ' || c[p] === ' ')
        problems.push(`column ${p} out of line in: ${JSON.stringify(row)}`);
    }
  }
  return problems;
}

/** The tables in a rendering: from a header line (NAME, METRIC, AGE, …) to the next blank line. */
function tables(text: string): string[][] {
  const lines = stripAnsi(text).split('\n');
  const out: string[][] = [];
  for (let i = 0; i < lines.length; i++) {
    if (!/^\s*(NAME|METRIC|AGE) {2,}/.test(lines[i]!)) continue;
    const block: string[] = [];
    for (; i < lines.length && lines[i] !== ''; i++) block.push(lines[i]!);
    out.push(block);
  }
  return out;
}

/** Header fields (`Name:`, `  Step:` …): values start at column 17. */
function misalignedHeader(text: string): string[] {
  const headerBlock = stripAnsi(text).split('\n\n')[0]!.split('\n');
  return headerBlock
    .filter((l) => columns(l).length > 17)
    .filter((l) => {
      const c = columns(l);
      return c[15] !== ' ' || c[16] !== ' ' || c[17] === ' ';
    });
}

const allViews: [string, ReleaseView][] = [
  ['canary mid-release', canaryMidRelease],
  ['blue/green', blueGreen],
  ['degraded', degraded],
  ['flagger', flagger],
  [
    'wide characters in names',
    {
      ...canaryMidRelease,
      versions: canaryMidRelease.versions.map((v, i) => (i === 0 ? { ...v, name: 'デモ-6cf78c66c5' } : v)),
    },
  ],
];

// ---- exact output ----

const canaryTree = `Name:            rollouts-demo
Namespace:       default
Status:          ॥ Paused
Message:         CanaryPauseStep
Strategy:        Canary
  Step:          1/8
  SetWeight:     20
  ActualWeight:  20
Images:          argoproj/rollouts-demo:blue (stable)
                 argoproj/rollouts-demo:yellow (canary)
Replicas:
  Desired:       5
  Current:       5
  Updated:       1
  Ready:         5
  Available:     5

NAME                                       KIND         STATUS        AGE    INFO
⟳ rollouts-demo                            Rollout      ॥ Paused      3d5h
├──# revision:2
│  ├──⧉ rollouts-demo-6cf78c66c5           ReplicaSet   ✔ Healthy     3m12s  canary
│  │  └──□ rollouts-demo-6cf78c66c5-qz7mn  Pod          ✔ Running     3m10s  ready:1/1
│  └──α rollouts-demo-6cf78c66c5-2         AnalysisRun  ◌ Running     3m5s   ✔ 6,⚠ 1
└──# revision:1
   ├──⧉ rollouts-demo-687d76d795           ReplicaSet   ✔ Healthy     3d5h   stable
   │  ├──□ rollouts-demo-687d76d795-75k57  Pod          ✔ Running     3d5h   ready:1/1
   │  ├──□ rollouts-demo-687d76d795-hwxmv  Pod          ✔ Running     125m   ready:1/1,restarts:2
   │  ├──□ rollouts-demo-687d76d795-t2wbq  Pod          ✔ Running     3d5h   ready:1/1
   │  └──□ rollouts-demo-687d76d795-vh4nx  Pod          ✔ Running     3d5h   ready:1/1
   └──α rollouts-demo-687d76d795-1         AnalysisRun  ✔ Successful  3d5h   ✔ 10

Analysis: rollouts-demo-6cf78c66c5-2 (background, revision 2)  ◌ Running
  METRIC        STATUS     CONDITION          LAST MEASUREMENTS
  success-rate  ◌ Running  result[0] >= 0.95  0.991 ✔, 0.987 ✔, 0.962 ✔
  latency-p99   ◌ Running  result[0] < 500    212 ✔, - ⚠, 245 ✔

Events:
  AGE    TYPE    REASON                MESSAGE
  3m13s  Normal  NewReplicaSetCreated  Created ReplicaSet rollouts-demo-6cf78c66c5 (revision 2)
  3m12s  Normal  ScalingReplicaSet     Scaled up ReplicaSet rollouts-demo-6cf78c66c5 (revision 2) from 0 to 1
  3m6s   Normal  RolloutStepCompleted  Rollout step 1/8 completed (setWeight: 20)
  3m5s   Normal  AnalysisRunRunning    Analysis Run 'rollouts-demo-6cf78c66c5-2' Status New: 'Running' Previous: 'Pending'
  3m5s   Normal  RolloutPaused         Rollout is paused (CanaryPauseStep)
`;

const degradedTree = `Name:            checkout
Namespace:       shop
Status:          ✖ Degraded
Message:         RolloutAborted: Rollout aborted update to revision 3: Metric "error-rate" assessed Failed due to failed (2) > failureLimit (1)
Strategy:        Canary
  Step:          0/6
  SetWeight:     0
  ActualWeight:  0
Images:          shop/checkout:1.8.0 (stable)
Replicas:
  Desired:       3
  Current:       3
  Updated:       0
  Ready:         3
  Available:     3

NAME                                 KIND         STATUS        AGE  INFO
⟳ checkout                           Rollout      ✖ Degraded    40d
├──# revision:3
│  ├──⧉ checkout-7d9f8b6c4           ReplicaSet   • ScaledDown  14m
│  └──α checkout-7d9f8b6c4-3-1       AnalysisRun  ✖ Failed      13m  ✔ 1,✖ 2,⚠ 1
└──# revision:2
   └──⧉ checkout-5b8c7d6e9           ReplicaSet   ✔ Healthy     6d   stable
      ├──□ checkout-5b8c7d6e9-8kq2x  Pod          ✔ Running     6d   ready:1/1
      ├──□ checkout-5b8c7d6e9-jx7pl  Pod          ✔ Running     6d   ready:1/1
      └──□ checkout-5b8c7d6e9-w4zrn  Pod          ✔ Running     20h  ready:1/1

Analysis: checkout-7d9f8b6c4-3-1 (step, revision 3)  ✖ Failed
  Message: Metric "error-rate" assessed Failed due to failed (2) > failureLimit (1)
  METRIC      STATUS    CONDITION          LAST MEASUREMENTS
  error-rate  ✖ Failed  result[0] <= 0.01  0.031 ✖, - ⚠, 0.047 ✖

Events:
  AGE  TYPE     REASON             MESSAGE
  14m  Normal   RolloutUpdated     Rollout updated to revision 3
  10m  Warning  AnalysisRunFailed  Analysis Run 'checkout-7d9f8b6c4-3-1' Status New: 'Failed' Previous: 'Running'
  10m  Warning  RolloutAborted     Rollout aborted update to revision 3: Metric "error-rate" assessed Failed due to failed (2) > failureLimit (1)
`;

const blueGreenTreeBody = `NAME                                    KIND        STATUS     AGE  INFO
⟳ bluegreen-demo                        Rollout     ॥ Paused   45m
├──# revision:2
│  └──⧉ bluegreen-demo-74b948fccb       ReplicaSet  ✔ Healthy  45s  preview
│     ├──□ bluegreen-demo-74b948fccb-1  Pod         ✔ Running  45s  ready:1/1,port:8083
│     └──□ bluegreen-demo-74b948fccb-2  Pod         ✔ Running  45s  ready:1/1,port:8084
└──# revision:1
   └──⧉ bluegreen-demo-5c9fbb6fbd       ReplicaSet  ✔ Healthy  45m  active
      ├──□ bluegreen-demo-5c9fbb6fbd-1  Pod         ✔ Running  45m  ready:1/1,port:8081
      └──□ bluegreen-demo-5c9fbb6fbd-2  Pod         ✔ Running  45m  ready:1/1,port:8082
`;

const list = `NAME                    KIND     STRATEGY   STATUS       STEP  SET-WEIGHT  READ-WEIGHT  READY  AVAILABLE  AGE
default/bluegreen-demo  Rollout  BlueGreen  Paused       -     -           -            4/2    2          45m
default/rollouts-demo   Rollout  Canary     Paused       1/8   20          20           5/5    5          3d5h
shop/checkout           Rollout  Canary     Degraded     0/6   0           0            3/3    3          40d
test/podinfo            Canary   Flagger    Progressing  3/10  30          30           4/2    4          2d
`;

const listOneNamespace = `NAME            KIND     STRATEGY   STATUS  STEP  SET-WEIGHT  READ-WEIGHT  READY  AVAILABLE  AGE
bluegreen-demo  Rollout  BlueGreen  Paused  -     -           -            4/2    2          45m
rollouts-demo   Rollout  Canary     Paused  1/8   20          20           5/5    5          3d5h
`;

describe('renderReleaseTree', () => {
  it.each([
    ['canary paused at step 1/8, two revisions, running background analysis', canaryMidRelease, canaryTree],
    ['degraded: aborted by a failed step analysis', degraded, degradedTree],
  ])('%s: exact output', (_, view, expected) => {
    expect(renderReleaseTree(view, { now })).toBe(expected);
  });

  it('blue/green: active and preview, local runtime ports, no analysis section', () => {
    const out = renderReleaseTree(blueGreen, { now });
    expect(out).toContain(`\n\n${blueGreenTreeBody}\nEvents:\n`);
    expect(out).toContain('Images:          argoproj/rollouts-demo:blue (active)\n');
    expect(out).toContain('                 argoproj/rollouts-demo:green (preview)\n');
    expect(out).not.toContain('Step:');
    expect(out).not.toContain('Analysis:');
  });

  it('flagger: Canary kind, Deployments with primary/canary roles, iterations as step', () => {
    const out = renderReleaseTree(flagger, { now });
    expect(out).toContain('Status:          ◌ Progressing\n');
    expect(out).toContain('  Step:          3/10\n');
    expect(out).toMatch(/^⟳ podinfo +Canary +◌ Progressing +2d$/m);
    expect(out).toMatch(/^│ {2}├──⧉ podinfo +Deployment +✔ Healthy +2d +canary$/m);
    expect(out).toMatch(/^ {3}└──⧉ podinfo-primary +Deployment +✔ Healthy +2d +primary$/m);
    expect(out).toContain('Analysis: podinfo (canary, revision 2)  ◌ Running\n');
    expect(out).toMatch(/^ {2}request-success-rate +◌ Running +min 99 +99\.8 ✔, 99\.9 ✔, 100 ✔$/m);
  });

  it.each(allViews)('%s: every table and the header are aligned', (_, view) => {
    for (const color of [false, true]) {
      const out = renderReleaseTree(view, { now, color });
      const found = tables(out);
      expect(found.length).toBeGreaterThan(0);
      for (const t of found) expect(misaligned(t)).toEqual([]);
      expect(misalignedHeader(out)).toEqual([]);
    }
  });

  it('the alignment check catches a row out of line', () => {
    const [tree] = tables(renderReleaseTree(canaryMidRelease, { now }));
    expect(misaligned(tree!)).toEqual([]);
    const shifted = tree!.map((l, i) => (i === 3 ? l.replace('  ReplicaSet', ' ReplicaSet') : l));
    expect(misaligned(shifted)).toHaveLength(4);
    const pushed = tree!.map((l, i) => (i === 4 ? l.replace('Pod', ' Pod') : l));
    expect(misaligned(pushed).length).toBeGreaterThan(0);
    // Padding by string length rather than columns misplaces a row holding a wide character.
    const wide = tree!.map((l, i) =>
      i === 3 ? l.replace('rollouts-demo-6cf78c66c5 ', `デモ-6cf78c66c5 ${' '.repeat(11)}`) : l,
    );
    expect(misaligned(wide)).toHaveLength(4);
  });

  it.each(allViews)('%s: no ANSI codes unless color is true; colours change nothing else', (_, view) => {
    const plain = renderReleaseTree(view, { now });
    const colored = renderReleaseTree(view, { now, color: true });
    expect(plain).not.toContain(ESC);
    expect(renderReleaseTree(view, { now, color: false })).toBe(plain);
    expect(colored).toContain(ESC);
    expect(stripAnsi(colored)).toBe(plain);
  });

  it.each([
    ['paused is yellow', canaryMidRelease, `${ESC}[33m॥ Paused${ESC}[0m`],
    ['healthy is green', canaryMidRelease, `${ESC}[32m✔ Healthy${ESC}[0m`],
    ['canary role is yellow', canaryMidRelease, `(${ESC}[33mcanary${ESC}[0m)`],
    ['stable role is green', canaryMidRelease, `(${ESC}[32mstable${ESC}[0m)`],
    ['degraded is red', degraded, `${ESC}[31m✖ Degraded${ESC}[0m`],
    ['failed analysis is red', degraded, `${ESC}[31m✖ Failed${ESC}[0m`],
    ['progressing is yellow', flagger, `${ESC}[33m◌ Progressing${ESC}[0m`],
  ])('color: %s', (_, view, fragment) => {
    expect(renderReleaseTree(view, { now, color: true })).toContain(fragment);
  });

  it.each([false, true])('width cuts long lines with an ellipsis (color %s)', (color) => {
    const out = renderReleaseTree(degraded, { now, color, width: 60 });
    const lines = out.trimEnd().split('\n');
    for (const l of lines) expect(displayWidth(l)).toBeLessThanOrEqual(60);
    const cut = lines.filter((l) => stripAnsi(l).endsWith('…'));
    expect(cut.map((l) => stripAnsi(l))).toContain(
      'Message:         RolloutAborted: Rollout aborted update to…',
    );
    if (color) for (const l of cut) if (l.includes(ESC)) expect(l.endsWith(`${ESC}[0m`)).toBe(true);
    // Short lines are untouched.
    expect(stripAnsi(out).startsWith('Name:            checkout\nNamespace:       shop\n')).toBe(true);
  });

  it('a timed pause says when it resumes', () => {
    const view = { ...canaryMidRelease, pauseEndsAt: ago(-25) };
    expect(renderReleaseTree(view, { now })).toContain('Message:         CanaryPauseStep (resumes in 25s)\n');
    const noMessage = { ...view, message: undefined, pauseEndsAt: ago(-192) };
    expect(renderReleaseTree(noMessage, { now })).toContain(
      'Message:         CanaryPauseStep (resumes in 3m12s)\n',
    );
  });

  it.each([
    [{ phase: 'Running', ready: true, restarts: 0 }, '✔ Running', 'ready:1/1'],
    [{ phase: 'Running', ready: false, restarts: 0 }, '◌ Running', 'ready:0/1'],
    [
      { phase: 'Waiting', reason: 'CrashLoopBackOff', ready: false, restarts: 7 },
      '✖ CrashLoopBackOff',
      'ready:0/1,restarts:7',
    ],
    [
      { phase: 'Waiting', reason: 'ContainerCreating', ready: false, restarts: 0 },
      '◌ ContainerCreating',
      'ready:0/1',
    ],
    [
      { phase: 'Waiting', reason: 'ImagePullBackOff', ready: false, restarts: 0 },
      '⚠ ImagePullBackOff',
      'ready:0/1',
    ],
    [
      { phase: 'Waiting', reason: 'CreateContainerConfigError', ready: false, restarts: 0 },
      '⚠ CreateContainerConfigError',
      'ready:0/1',
    ],
    [
      { phase: 'Terminating', ready: false, restarts: 1, port: 9000 },
      '◌ Terminating',
      'ready:0/1,restarts:1,port:9000',
    ],
  ])('pod %o shows %s', (p, statusText, info) => {
    const version = { ...canaryMidRelease.versions[0]!, pods: [{ name: 'p-1', startedAt: ago(45), ...p }] };
    const out = renderReleaseTree({ ...canaryMidRelease, versions: [version] }, { now });
    const row = out.split('\n').find((l) => l.includes('□ p-1'));
    expect(row).toMatch(
      new RegExp(`□ p-1 +Pod +${statusText.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} +45s +${info}$`),
    );
  });

  it('only the newest run of each kind gets an analysis section; no events, no section', () => {
    const out = renderReleaseTree({ ...canaryMidRelease, events: [] }, { now });
    expect(out.match(/^Analysis:/gm)).toHaveLength(1);
    expect(out).not.toContain('Events:');
    expect(out.endsWith('245 ✔\n')).toBe(true);
  });

  it('is deterministic and leaves the view alone', () => {
    const before = structuredClone(canaryMidRelease);
    const a = renderReleaseTree(canaryMidRelease, { now, color: true, width: 80 });
    expect(renderReleaseTree(canaryMidRelease, { now, color: true, width: 80 })).toBe(a);
    expect(canaryMidRelease).toEqual(before);
  });
});

describe('renderReleaseList', () => {
  it.each([
    ['several namespaces: namespace/name, sorted', [flagger, degraded, canaryMidRelease, blueGreen], list],
    ['one namespace: plain names', [canaryMidRelease, blueGreen], listOneNamespace],
    ['empty', [], 'No rollouts found.\n'],
  ])('%s', (_, views, expected) => {
    const out = renderReleaseList(views, { now });
    expect(out).toBe(expected);
    if (views.length > 0) expect(misaligned(out.trimEnd().split('\n'))).toEqual([]);
  });
});

describe('renderStatusLine', () => {
  const v = canaryMidRelease;
  it.each([
    ['paused canary', v, 'Paused - CanaryPauseStep'],
    ['paused, reason only in pauseReasons', { ...v, message: undefined }, 'Paused - CanaryPauseStep'],
    ['blue/green pause', blueGreen, 'Paused - BlueGreenPause'],
    [
      'progressing',
      { ...v, phase: 'Progressing', message: 'more replicas need to be updated', pauseReasons: [] },
      'Progressing - more replicas need to be updated',
    ],
    ['healthy', { ...v, phase: 'Healthy', message: undefined, pauseReasons: undefined }, 'Healthy'],
    [
      'degraded',
      degraded,
      `Degraded - RolloutAborted: Rollout aborted update to revision 3: ${abortMessage}`,
    ],
    ['flagger', flagger, 'Progressing - Advance podinfo.test canary weight 30'],
    ['multi-line message on one line', { ...v, phase: 'Unknown', message: 'a\n  b' }, 'Unknown - a b'],
  ] as [string, ReleaseView, string][])('%s', (_, view, expected) => {
    expect(renderStatusLine(view)).toBe(expected);
  });
});

describe('ageText', () => {
  it.each([
    [undefined, '-'],
    ['', '-'],
    ['yesterday', '<invalid>'],
    [ago(-5), '<invalid>'],
    [ago(-1), '0s'],
    [ago(0), '0s'],
    [ago(45), '45s'],
    [ago(119), '119s'],
    [ago(120), '2m'],
    [ago(192), '3m12s'],
    [ago(600), '10m'],
    [ago(2 * H + 5 * 60), '125m'],
    [ago(3 * H), '3h'],
    [ago(3 * H + 5 * 60), '3h5m'],
    [ago(7 * H + 59 * 60), '7h59m'],
    [ago(8 * H + 30 * 60), '8h'],
    [ago(47 * H), '47h'],
    [ago(3 * D), '3d'],
    [ago(3 * D + 5 * H), '3d5h'],
    [ago(8 * D + 5 * H), '8d'],
    [ago(730 * D), '2y'],
    [ago(800 * D), '2y70d'],
    [ago(9 * 365 * D), '9y'],
  ])('%s -> %s', (from, expected) => {
    expect(ageText(from, now)).toBe(expected);
  });
});
