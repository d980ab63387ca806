import { describe, expect, it } from 'vitest';
import type { PodTemplate } from './record.js';
import { replicaSpecOf } from './replica-spec.js';

const template = (container: Record<string, unknown>, more: Record<string, unknown>[] = []) =>
  ({ spec: { containers: [container, ...more] } }) as unknown as PodTemplate;
const secrets: Record<string, string> = { 'db/password': 's3cret' };
const lookup = (name: string, key: string) => secrets[`${name}/${key}`];

describe('replicaSpecOf', () => {
  it.each([
    [
      'command, args, workingDir and image of the first container only',
      template({ name: 'a', image: 'x:1', command: ['node'], args: ['s.js'], workingDir: '/srv' }, [
        { name: 'b', image: 'y' },
      ]),
      undefined,
      { image: 'x:1', command: ['node'], args: ['s.js'], workingDir: '/srv', env: [] },
    ],
    [
      'env values, secretKeyRef resolved, a missing secret as empty',
      template({
        image: 'x',
        env: [
          { name: 'A', value: '1' },
          { name: 'P', valueFrom: { secretKeyRef: { name: 'db', key: 'password' } } },
          { name: 'Q', valueFrom: { secretKeyRef: { name: 'db', key: 'nope' } } },
          { name: 'E' },
        ],
      }),
      undefined,
      {
        image: 'x',
        env: [
          { name: 'A', value: '1' },
          { name: 'P', value: 's3cret' },
          { name: 'Q', value: '' },
          { name: 'E' },
        ],
      },
    ],
    [
      'probes and minReadySeconds',
      template({
        image: 'x',
        readinessProbe: { httpGet: { path: '/h' } },
        livenessProbe: { tcpSocket: { port: 1 } },
      }),
      5,
      {
        image: 'x',
        env: [],
        readinessProbe: { httpGet: { path: '/h' } },
        livenessProbe: { tcpSocket: { port: 1 } },
        minReadySeconds: 5,
      },
    ],
    ['no template', undefined, undefined, { image: '', env: [] }],
  ])('%s', (_what, t, minReady, expected) => {
    expect(replicaSpecOf(t, lookup, minReady)).toEqual(expected);
  });
});
