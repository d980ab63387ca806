import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTarget, type Target } from '../testing/counting-target.js';
import { decodePayload, type Loadtester, startLoadtester } from './server.js';

const dir = mkdtempSync(path.join(tmpdir(), 'vireo-lt-'));
const logs: string[] = [];
let lt: Loadtester;
let target: Target;

beforeAll(async () => {
  lt = await startLoadtester({ port: 0, log: (l) => logs.push(l) });
  target = await startTarget();
});
afterAll(async () => {
  await lt.close();
  await target.close();
  rmSync(dir, { recursive: true, force: true });
});

const payload = (metadata?: Record<string, string>, name = 'podinfo', namespace = 'test') => ({
  name,
  namespace,
  phase: 'Progressing',
  checksum: '85d557f47b',
  ...(metadata ? { metadata } : {}),
});

async function post(p: string, body: unknown, base = lt.url) {
  const res = await fetch(`${base}${p}`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  return { status: res.status, text: await res.text() };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
async function until(cond: () => boolean, ms = 5000) {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('timed out waiting');
    await sleep(10);
  }
}
const lines = (f: string) => {
  try {
    return readFileSync(f, 'utf8').split('\n').filter(Boolean);
  } catch {
    return [];
  }
};
const alive = (pid: number): boolean => {
  try {
    return !/\) Z /.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
};

describe('fixed endpoints', () => {
  it('healthz, approve and halt answer as the loadtester does', async () => {
    expect(await (await fetch(`${lt.url}/healthz`)).text()).toBe('OK');
    expect(await post('/gate/approve', '')).toEqual({ status: 200, text: 'OK' });
    expect(await post('/gate/halt', '')).toEqual({ status: 403, text: 'Forbidden' });
    const m = await fetch(`${lt.url}/metrics`);
    expect(await m.text()).toMatch(/^vireo_loadtester_commands_total\{result="started"\} \d+$/m);
  });

  it('bad requests: not a payload, no metadata, unknown type, cmd missing', async () => {
    expect((await post('/', 'not json')).status).toBe(400);
    expect((await post('/', { name: 1 })).status).toBe(400);
    expect((await post('/', { metadata: { cmd: 42 } })).status).toBe(400);
    expect(await post('/', payload())).toEqual({ status: 400, text: 'metadata not found in payload' });
    expect(await post('/', payload({ type: 'helmv2', cmd: 'x' }))).toEqual({
      status: 400,
      text: 'unknown task type helmv2',
    });
    expect(await post('/', payload({ type: 'cmd' }))).toEqual({
      status: 400,
      text: 'cmd not found in metadata',
    });
    expect((await post('/gate/check', '')).status).toBe(400);
  });

  it('decodePayload reads JSON as Go fills the struct', () => {
    expect(decodePayload('null')).toEqual({ name: '', namespace: '', phase: '', metadata: {} });
    expect(decodePayload('{"Name":"a","NAMESPACE":"b","metadata":{"cmd":"x"}}')).toEqual({
      name: 'a',
      namespace: 'b',
      phase: '',
      metadata: { cmd: 'x' },
    });
    expect(decodePayload('[1]')).toMatch(/not an object/);
  });
});

describe('cmd: asynchronous and de-duplicated', () => {
  it('answers 202 at once; the same command for the same canary does not start again while it runs', async () => {
    const out = path.join(dir, 'dedup.txt');
    const cmd = `echo run >> ${out}; sleep 0.6`;
    const t0 = Date.now();
    const answers = await Promise.all([1, 2, 3].map(() => post('/', payload({ cmd }))));
    expect(answers.map((a) => a.status)).toEqual([202, 202, 202]);
    expect(Date.now() - t0).toBeLessThan(500);
    // Another canary is another task.
    expect((await post('/', payload({ cmd }, 'other'))).status).toBe(202);
    await until(() => lines(out).length === 2);
    await sleep(100);
    expect(lines(out)).toHaveLength(2);
    expect(
      logs.some((l) => l.includes(`canary=podinfo.test command skipped ${cmd} is already running`)),
    ).toBe(true);
    // Once it has finished, the same command runs again.
    await until(() => logs.some((l) => l.includes(`canary=podinfo.test command finished ${cmd}`)));
    expect((await post('/', payload({ cmd }))).status).toBe(202);
    await until(() => lines(out).length === 3);
  });

  it('no type means cmd; a failing command is logged with its output', async () => {
    expect((await post('/', payload({ cmd: 'echo oops; exit 4' }, 'failing'))).status).toBe(202);
    await until(() =>
      logs.some((l) => l.includes('canary=failing.test command failed echo oops; exit 4 exit status 4 oops')),
    );
  });

  it('a hey line runs on the built-in generator, once while it runs', async () => {
    const before = target.count();
    const cmd = `hey -z 1s -q 10 -c 2 ${target.url}`;
    expect((await post('/', payload({ cmd, logCmdOutput: 'true' }, 'loaded'))).status).toBe(202);
    await sleep(200);
    expect((await post('/', payload({ cmd }, 'loaded'))).status).toBe(202);
    await until(() => logs.some((l) => l.includes(`canary=loaded.test command finished ${cmd}`)));
    const sent = target.count() - before;
    // 10/s per worker × 2 workers × 1 s, sent once despite two webhooks.
    expect(sent).toBeGreaterThanOrEqual(16);
    expect(sent).toBeLessThanOrEqual(22);
    expect(target.requests.at(-1)?.headers['user-agent']).toBe('hey/0.0.1');
    expect(logs.some((l) => /Status code distribution:\n {2}\[200\]\t\d+ responses/.test(l))).toBe(true);
  });
});

describe('bash: blocking', () => {
  it('waits for the command; 200, with the output when returnCmdOutput is true', async () => {
    const t0 = Date.now();
    const r = await post(
      '/',
      payload({ type: 'bash', cmd: 'sleep 0.3; echo "$((6*7))"', returnCmdOutput: 'true' }),
    );
    expect(Date.now() - t0).toBeGreaterThanOrEqual(300);
    expect(r).toEqual({ status: 200, text: '42\n' });
    expect(await post('/', payload({ type: 'bash', cmd: 'echo quiet' }))).toEqual({ status: 200, text: '' });
  });

  it('a failing command is a 500 with the error and the output', async () => {
    const r = await post('/', payload({ type: 'bash', cmd: 'echo "it broke" >&2; exit 3' }));
    expect(r).toEqual({ status: 500, text: 'exit status 3 it broke' });
  });

  it('a blocking hey line returns its report', async () => {
    const r = await post(
      '/',
      payload({ type: 'bash', cmd: `hey -n 10 -c 2 ${target.url}`, returnCmdOutput: 'true' }),
    );
    expect(r.status).toBe(200);
    expect(r.text).toMatch(/Status code distribution:\n {2}\[200\]\t10 responses/);
    const bad = await post('/', payload({ type: 'bash', cmd: `hey -n 1 -c 2 ${target.url}` }));
    expect(bad).toEqual({ status: 500, text: 'hey: -n cannot be less than -c.' });
  });
});

describe('gates, per canary', () => {
  it('closed until opened; open, check, close, check', async () => {
    const p = payload(undefined, 'gated');
    expect(await post('/gate/check', p)).toEqual({ status: 403, text: 'Forbidden' });
    expect(await post('/gate/open', p)).toEqual({ status: 202, text: '' });
    expect(await post('/gate/check', p)).toEqual({ status: 200, text: 'Approved' });
    // Keyed by name and namespace.
    expect((await post('/gate/check', payload(undefined, 'gated', 'prod'))).status).toBe(403);
    expect((await post('/gate/check', payload(undefined, 'other'))).status).toBe(403);
    // The rollback gate is separate.
    expect((await post('/rollback/check', p)).status).toBe(403);
    expect(await post('/gate/close', p)).toEqual({ status: 202, text: '' });
    expect((await post('/gate/check', p)).status).toBe(403);
  });

  it('rollback gates: open, check, close', async () => {
    const p = payload(undefined, 'rb');
    expect(await post('/rollback/check', p)).toEqual({ status: 403, text: 'Forbidden' });
    expect((await post('/rollback/open', p)).status).toBe(202);
    expect(await post('/rollback/check', p)).toEqual({ status: 200, text: 'Approved' });
    expect((await post('/gate/check', p)).status).toBe(403);
    expect((await post('/rollback/close', p)).status).toBe(202);
    expect((await post('/rollback/check', p)).status).toBe(403);
  });
});

describe('options', () => {
  it('namespaceRegexp: payloads from other namespaces are Forbidden', async () => {
    const s = await startLoadtester({ port: 0, namespaceRegexp: '^prod' });
    try {
      expect(await post('/gate/open', payload(undefined, 'a', 'test'), s.url)).toEqual({
        status: 403,
        text: 'Forbidden',
      });
      expect((await post('/gate/open', payload(undefined, 'a', 'production'), s.url)).status).toBe(202);
      expect((await post('/', payload({ type: 'bash', cmd: 'true' }, 'a', 'dev'), s.url)).status).toBe(403);
    } finally {
      await s.close();
    }
  });

  it('the command time limit kills a blocking command', async () => {
    const s = await startLoadtester({ port: 0, timeoutMs: 300 });
    try {
      const t0 = Date.now();
      const r = await post('/', payload({ type: 'bash', cmd: 'sleep 5' }), s.url);
      expect(r).toEqual({ status: 500, text: 'timed out after 0.3s (signal: killed)' });
      expect(Date.now() - t0).toBeLessThan(2000);
    } finally {
      await s.close();
    }
  });

  it('close stops running commands with everything they started', async () => {
    const s = await startLoadtester({ port: 0 });
    const pidFile = path.join(dir, 'bg.pid');
    expect((await post('/', payload({ cmd: `sleep 30 & echo $! > ${pidFile}; wait` }), s.url)).status).toBe(
      202,
    );
    await until(() => lines(pidFile).length === 1);
    const pid = Number(lines(pidFile)[0]);
    expect(alive(pid)).toBe(true);
    const t0 = Date.now();
    await s.close();
    expect(Date.now() - t0).toBeLessThan(2000);
    await until(() => !alive(pid), 2000);
  });

  it('a port in use is an error from startLoadtester', async () => {
    await expect(startLoadtester({ port: lt.port })).rejects.toThrow(/EADDRINUSE/);
  });
});

describe('escaping processes', () => {
  it('a command whose child left its process group does not hold the answer (setsid keeps the pipes)', async () => {
    const pidFile = path.join(dir, 'setsid.pid');
    const t0 = Date.now();
    const r = await post(
      '/',
      payload({ type: 'bash', cmd: `setsid sleep 3 & echo $! > ${pidFile}; echo started` }),
    );
    expect(r.status).toBe(200);
    expect(Date.now() - t0).toBeLessThan(2500);
    const pid = Number(lines(pidFile)[0]);
    if (alive(pid)) process.kill(pid, 'SIGKILL');
  });
});
