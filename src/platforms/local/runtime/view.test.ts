import { describe, expect, it } from 'vitest';
import type { PodStatus, VersionStatus } from '../processes/supervisor.js';
import { versionStatus } from './view.js';

const status = (current: number, available: number, reasons: string[] = []): VersionStatus => ({
  replicas: current,
  currentReplicas: current,
  readyReplicas: available,
  availableReplicas: available,
  terminatingReplicas: 0,
  restarts: 0,
  createdAt: '2026-11-22T10:00:00Z',
  pods: reasons.map((reason) => ({ reason }) as unknown as PodStatus),
  warnings: [],
});

describe('versionStatus', () => {
  it.each([
    ['scaled to 0 with no process left', 0, undefined, 'ScaledDown'],
    ['scaled to 0, a process still stopping', 0, status(1, 0), 'Healthy'],
    ['a replica in CrashLoopBackOff', 2, status(2, 1, ['CrashLoopBackOff', 'Running']), 'Degraded'],
    ['all desired available', 2, status(2, 2), 'Healthy'],
    ['still starting', 3, status(3, 1), 'Progressing'],
    ['no processes yet', 2, undefined, 'Progressing'],
  ] as const)('%s -> %s', (_name, desired, s, want) => {
    expect(versionStatus(desired, s)).toBe(want);
  });
});
