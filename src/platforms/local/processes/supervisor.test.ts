import { existsSync, mkdtempSync, readFileSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  expand,
  observedReplicaSet,
  type ReplicaSpec,
  Supervisor,
  type SupervisorEvent,
  stopLeftoverReplicas,
} from './supervisor.js';

// The replica program: answers with its IMAGE, PORT and pid; /healthz is 200 only while READY_FILE
// exists (when set), /livez only while LIVE_FILE exists; CRASH_AFTER_MS makes it exit 3; SPAWN_CHILD
// starts a child that ignores SIGTERM (its pid at /child).
const PROGRAM = `
import http from 'node:http';
import { existsSync } from 'node:fs';
import { spawn } from 'node:child_process';
const env = process.env;
let child;
if (env.SPAWN_CHILD) {
  child = spawn(process.execPath, ['-e', 'process.on("SIGTERM", () => {}); setInterval(() => {}, 1000)'], { stdio: 'ignore' });
}
if (env.CRASH_AFTER_MS) setTimeout(() => { console.error('crashing'); process.exit(3); }, Number(env.CRASH_AFTER_MS));
const ok = (f) => !f || existsSync(f);
http.createServer((req, res) => {
  if (req.url === '/healthz') { res.statusCode = ok(env.READY_FILE) ? 200 : 503; return res.end(); }
  if (req.url === '/livez') { res.statusCode = ok(env.LIVE_FILE) ? 200 : 500; return res.end(); }
  if (req.url === '/child') return res.end(String(child ? child.pid : ''));
  res.end(JSON.stringify({ image: env.IMAGE, port: env.PORT, pid: process.pid, greeting: env.GREETING, argv: process.argv.slice(2) }));
}).listen(Number(env.PORT), '127.0.0.1', () => console.log('listening on ' + env.PORT + ' as ' + env.IMAGE));
process.on('SIGTERM', () => { console.log('got SIGTERM'); process.exit(0); });
`;

let dir: string;
let program: string;
let sup: Supervisor;
let events: SupervisorEvent[];
const pids = new Set<number>();

function make(extra: Partial<ConstructorParameters<typeof Supervisor>[0]> = {}): Supervisor {
  events = [];
  sup = new Supervisor({
    logDir: path.join(dir, 'logs'),
    backoffBaseMs: 100,
    backoffMaxMs: 400,
    gracePeriodMs: 2000,
    onEvent: (e) => {
      events.push(e);
      if (e.type === 'Started') pids.add(e.pid);
    },
    ...extra,
  });
  return sup;
}

function spec(env: Record<string, string> = {}, more: Partial<ReplicaSpec> = {}): ReplicaSpec {
  return {
    command: [process.execPath],
    args: [program],
    image: 'registry.example/demo:blue',
    env: Object.entries(env).map(([name, value]) => ({ name, value })),
    readinessProbe: { httpGet: { path: '/healthz', port: 8080 }, periodSeconds: 0.05, failureThreshold: 2 },
    ...more,
  };
}

async function until<T>(what: string, f: () => T | undefined | false, ms = 8000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = f();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** kill -0, and on Linux a zombie (killed, not yet reaped by an orphan's new parent) counts as dead. */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return true;
  }
}

async function get(port: number, p = '/'): Promise<{ status: number; body: string }> {
  const res = await fetch(`http://127.0.0.1:${port}${p}`);
  return { status: res.status, body: await res.text() };
}

beforeEach(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'vireo-supervisor-'));
  program = path.join(dir, 'replica.mjs');
  writeFileSync(program, PROGRAM);
});

afterEach(async () => {
  await sup?.close();
  for (const pid of pids) {
    try {
      process.kill(-pid, 'SIGKILL');
    } catch {}
  }
  pids.clear();
  rmSync(dir, { recursive: true, force: true });
});

describe('Supervisor', () => {
  it('starts replicas on distinct ports with PORT and IMAGE, ready, logging to files', async () => {
    make();
    await sup.scale('demo-abc', spec({ GREETING: 'hi $(IMAGE)' }, { args: [program, '--port=$(PORT)'] }), 2);
    const s = await until('2 ready', () => {
      const st = sup.status('demo-abc')!;
      return st.readyReplicas === 2 && st;
    });
    expect(s.replicas).toBe(2);
    expect(s.availableReplicas).toBe(2);
    const ports = sup.endpoints('demo-abc').map((e) => e.port);
    expect(new Set(ports).size).toBe(2);
    for (const port of ports) {
      const body = JSON.parse((await get(port)).body);
      expect(body).toMatchObject({ image: 'registry.example/demo:blue', port: String(port) });
      expect(body.greeting).toBe('hi registry.example/demo:blue');
      expect(body.argv).toEqual([`--port=${port}`]);
    }
    expect(s.pods.map((p) => p.phase)).toEqual(['Running', 'Running']);
    expect(observedReplicaSet('abc', s)).toMatchObject({ hash: 'abc', replicas: 2, availableReplicas: 2 });
    // Logs and the adoption record.
    for (const p of s.pods) {
      expect(p.logFile).toBe(path.join(dir, 'logs', 'demo-abc', `${p.name}.log`));
      await until('log line', () => readFileSync(p.logFile, 'utf8').includes(`listening on ${p.port}`));
      const state = JSON.parse(readFileSync(path.join(dir, 'logs', 'demo-abc', `${p.name}.json`), 'utf8'));
      expect(state).toMatchObject({ pid: p.pid, pgid: p.pid, port: p.port, version: 'demo-abc' });
    }
  });

  it('gates readiness on the probe, and takes readiness away after failureThreshold', async () => {
    make();
    const readyFile = path.join(dir, 'ready');
    await sup.scale('gate', spec({ READY_FILE: readyFile }), 1);
    const port = sup.status('gate')!.pods[0]!.port;
    // The process serves, but /healthz says 503: several probe periods pass without readiness.
    await until(
      '503s on /healthz',
      () => events.filter((e) => e.type === 'Unhealthy' && e.message.includes('statuscode: 503')).length >= 3,
    );
    expect((await get(port, '/')).status).toBe(200);
    expect(sup.status('gate')!.readyReplicas).toBe(0);
    expect(sup.endpoints('gate')).toEqual([]);
    writeFileSync(readyFile, '');
    await until('ready', () => sup.status('gate')!.readyReplicas === 1);
    expect(sup.endpoints('gate')).toEqual([{ host: '127.0.0.1', port }]);
    unlinkSync(readyFile);
    await until('not ready', () => sup.status('gate')!.readyReplicas === 0);
    expect(sup.endpoints('gate')).toEqual([]);
    expect(sup.status('gate')!.restarts).toBe(0);
  });

  it('restarts crashed replicas with doubling back-off, counts restarts, shows CrashLoopBackOff', async () => {
    make();
    await sup.scale('crashy', spec({ CRASH_AFTER_MS: '30' }), 1);
    const reasons = new Set<string>();
    await until(
      'three restarts',
      () => {
        const p = sup.status('crashy')!.pods[0]!;
        if (p.reason) reasons.add(p.reason);
        return p.restarts >= 3;
      },
      10_000,
    );
    expect(reasons.has('CrashLoopBackOff')).toBe(true);
    const delays = events.filter((e) => e.type === 'BackOff').map((e) => (e as { delayMs: number }).delayMs);
    expect(delays.slice(0, 3)).toEqual([100, 200, 400]);
    expect(delays.slice(3).every((d) => d === 400)).toBe(true);
    const started = events.filter((e) => e.type === 'Started').map((e) => (e as { pid: number }).pid);
    expect(new Set(started).size).toBe(started.length);
    const p = sup.status('crashy')!.pods[0]!;
    expect(p.lastState).toMatchObject({ exitCode: 3, reason: 'Error' });
    expect(sup.status('crashy')!.restarts).toBe(p.restarts);
    const log = readFileSync(p.logFile, 'utf8');
    expect(log.match(/crashing/g)!.length).toBeGreaterThanOrEqual(3);
  });

  it('restarts a replica whose liveness probe fails', async () => {
    make();
    const liveFile = path.join(dir, 'live');
    writeFileSync(liveFile, '');
    await sup.scale(
      'lively',
      spec(
        { LIVE_FILE: liveFile },
        { livenessProbe: { httpGet: { path: '/livez' }, periodSeconds: 0.05, failureThreshold: 2 } },
      ),
      1,
    );
    // A liveness probe may already kill the process while it starts (no initialDelaySeconds), as on Kubernetes.
    const live = await until('ready', () => sup.status('lively')!.pods.find((p) => p.ready));
    const first = live.pid!;
    unlinkSync(liveFile);
    await until('liveness kill', () => events.some((e) => e.type === 'Killing' && e.pid === first));
    writeFileSync(liveFile, '');
    const p = await until('restarted and ready', () =>
      sup.status('lively')!.pods.find((x) => x.ready && x.restarts > live.restarts),
    );
    expect(p.pid).not.toBe(first);
    expect(alive(first)).toBe(false);
    expect(p.lastState?.reason).toBe('LivenessProbeFailed');
    expect(readFileSync(p.logFile, 'utf8')).toContain('got SIGTERM');
  });

  it('scales down newest first and kills the whole process group', async () => {
    make({ gracePeriodMs: 300 });
    await sup.scale('grp', spec({ SPAWN_CHILD: '1' }), 3);
    const before = await until('3 ready', () => {
      const s = sup.status('grp')!;
      return s.readyReplicas === 3 && s;
    });
    const children: number[] = [];
    for (const p of before.pods) children.push(Number((await get(p.port, '/child')).body));
    for (const c of children) expect(alive(c)).toBe(true);
    await sup.scale('grp', spec({ SPAWN_CHILD: '1' }), 1);
    const during = sup.status('grp')!;
    expect(during.replicas).toBe(1);
    expect(during.pods.filter((p) => p.phase === 'Terminating').map((p) => p.name)).toEqual([
      'grp-2',
      'grp-1',
    ]);
    expect(sup.endpoints('grp').map((e) => e.port)).toEqual([before.pods[0]!.port]);
    await sup.settled('grp');
    const after = sup.status('grp')!;
    expect(after.pods.map((p) => p.name)).toEqual(['grp-0']);
    // The children ignore SIGTERM; they died with their group (SIGKILL).
    await until('children gone', () => !alive(children[1]!) && !alive(children[2]!), 3000);
    expect(alive(before.pods[1]!.pid!)).toBe(false);
    expect(alive(before.pods[2]!.pid!)).toBe(false);
    expect(alive(before.pods[0]!.pid!)).toBe(true);
    expect(alive(children[0]!)).toBe(true);
    expect(existsSync(path.join(dir, 'logs', 'grp', 'grp-2.json'))).toBe(false);
    expect(readFileSync(before.pods[2]!.logFile, 'utf8')).toContain('got SIGTERM');
  });

  it('reports a program that cannot start and keeps the others running', async () => {
    make();
    await sup.scale('missing', spec({}, { command: [path.join(dir, 'no-such-program')], args: [] }), 1);
    const p = await until('start error', () => sup.status('missing')!.pods[0]!.lastState);
    expect(p.reason).toBe('StartError');
    expect(sup.status('missing')!.pods[0]!.reason).toBe('CrashLoopBackOff');
    await expect(sup.scale('bad/name', spec(), 1)).rejects.toThrow(/invalid version name/);
    await expect(sup.scale('noprog', { image: 'x' }, 1)).rejects.toThrow(/neither command nor args/);
  });

  it('close stops every process of every version', async () => {
    make();
    await sup.scale('a', spec({ SPAWN_CHILD: '1' }), 2);
    await sup.scale('b', spec(), 1);
    await until(
      '3 ready',
      () => sup.status('a')!.readyReplicas === 2 && sup.status('b')!.readyReplicas === 1,
    );
    const all = [...sup.status('a')!.pods, ...sup.status('b')!.pods].map((p) => p.pid!);
    const children: number[] = [];
    for (const p of sup.status('a')!.pods) children.push(Number((await get(p.port, '/child')).body));
    await sup.close();
    await until('all gone', () => [...all, ...children].every((pid) => !alive(pid)), 3000);
    expect(sup.status('a')!.pods).toEqual([]);
    await expect(sup.scale('a', spec(), 1)).rejects.toThrow(/closed/);
  });

  it('expands $(VAR) as Kubernetes does', () => {
    expect(expand('$(A)-$(B)-$$(A)-$(C', { A: '1', B: '2' })).toBe('1-2-$(A)-$(C');
    expect(expand('$(MISSING)', {})).toBe('$(MISSING)');
  });
});

describe('stopLeftoverReplicas (after the runtime was killed)', () => {
  it.each([
    ['with their state files', false],
    ['without a state file (killed between spawn and the state write)', true],
  ])('stops replicas a previous supervisor left running, %s', async (_what, dropStateFiles) => {
    const logDir = path.join(dir, 'logs');
    const first = make();
    await first.scale('left', spec(), 2);
    const running = await until('2 running', () => {
      const p = first.status('left')?.pods.filter((x) => x.pid !== undefined) ?? [];
      return p.length === 2 && p;
    });
    if (dropStateFiles) for (const p of running) unlinkSync(path.join(logDir, 'left', `${p.name}.json`));
    // The supervisor "dies" without stopping them: its processes are detached and keep running.
    const stopped = stopLeftoverReplicas(logDir);
    expect(stopped.sort()).toEqual(running.map((p) => p.pid).sort());
    await until('both gone', () => running.every((p) => !alive(p.pid as number)));
    await first.close();
  });

  it('leaves processes of other state directories alone', async () => {
    const other = make({ logDir: path.join(dir, 'other-logs') });
    await other.scale('mine', spec(), 1);
    const pid = await until('running', () => other.status('mine')?.pods[0]?.pid);
    expect(stopLeftoverReplicas(path.join(dir, 'logs'))).toEqual([]);
    expect(alive(pid)).toBe(true);
    await other.close();
  });
});
