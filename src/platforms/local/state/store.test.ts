import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import * as path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  LOCK_FILE,
  openStateDir,
  StateDirLockedError,
  StateFileDamagedError,
  type StateStore,
} from './store.js';

const storeModule = new URL('./store.ts', import.meta.url).href;

let dir: string;
const open: StateStore[] = [];
const children: ChildProcess[] = [];

beforeEach(async () => {
  dir = await fs.mkdtemp(path.join(tmpdir(), 'vireo-state-'));
});
afterEach(async () => {
  for (const c of children.splice(0)) c.kill('SIGKILL');
  await Promise.all(open.splice(0).map((s) => s.close()));
  await fs.rm(dir, { recursive: true, force: true });
});

async function store(options?: Parameters<typeof openStateDir>[1]): Promise<StateStore> {
  const s = await openStateDir(dir, options);
  open.push(s);
  return s;
}

/**
 * A second process running `code` (an ES module body with `openStateDir` and `dir` in scope). It reports
 * by printing lines; `line(re)` waits for one.
 */
function child(code: string) {
  const script = `import { openStateDir } from ${JSON.stringify(storeModule)};\nconst dir = ${JSON.stringify(dir)};\n${code}`;
  const c = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(c);
  let out = '';
  let err = '';
  c.stdout.on('data', (d: Buffer) => {
    out += d;
  });
  c.stderr.on('data', (d: Buffer) => {
    err += d;
  });
  const exited = new Promise<number | null>((resolve) => c.on('exit', (code) => resolve(code)));
  const line = async (re: RegExp): Promise<string> => {
    const deadline = Date.now() + 20_000;
    while (Date.now() < deadline) {
      const m = re.exec(out);
      if (m) return m[0];
      if (c.exitCode !== null) break;
      await new Promise((r) => setTimeout(r, 20));
    }
    throw new Error(`child did not print ${re}; stdout: ${out}; stderr: ${err}`);
  };
  return { process: c, exited, line, out: () => out, err: () => err };
}

describe('state store', () => {
  it('writes, reads (with header), lists by prefix and deletes', async () => {
    const s = await store();
    expect(await s.read('rollouts/default/guestbook')).toBeUndefined();
    await s.write('rollouts/default/guestbook', { step: 3, weight: 40 });
    await s.write('rollouts/default/other', { step: 0 }, { kind: 'rollout' });
    await s.write('rollouts/prod/api', { step: 1 });
    await s.write('weights', { a: 1 });
    expect(await s.read('rollouts/default/guestbook')).toEqual({ step: 3, weight: 40 });
    const entry = await s.readEntry('rollouts/default/other');
    expect(entry?.header).toMatchObject({ version: 1, kind: 'rollout' });
    expect(Date.parse(entry!.header.savedAt)).not.toBeNaN();
    expect((await s.readEntry('weights'))?.header.kind).toBe('weights');

    expect(await s.list()).toEqual([
      'rollouts/default/guestbook',
      'rollouts/default/other',
      'rollouts/prod/api',
      'weights',
    ]);
    expect(await s.list('rollouts/default/')).toEqual([
      'rollouts/default/guestbook',
      'rollouts/default/other',
    ]);
    expect(await s.list('rollouts/p')).toEqual(['rollouts/prod/api']);
    expect(await s.list('nothing/here/')).toEqual([]);

    await s.write('rollouts/default/guestbook', { step: 4, weight: 60 });
    expect(await s.read('rollouts/default/guestbook')).toEqual({ step: 4, weight: 60 });
    expect(await s.delete('rollouts/default/guestbook')).toBe(true);
    expect(await s.delete('rollouts/default/guestbook')).toBe(false);
    expect(await s.read('rollouts/default/guestbook')).toBeUndefined();
  });

  it.each(['', '../escape', 'a//b', '/abs', '.hidden', 'a/./b', 'sp ace'])(
    'refuses the key %j',
    async (key) => {
      const s = await store();
      await expect(s.write(key, 1)).rejects.toThrow(/is not allowed; a key is names separated by "\/"/);
    },
  );

  describe('atomic writes', () => {
    it('a crash (kill -9) between the temp write and the rename keeps the old value; the temp file is ignored, then cleaned on open', async () => {
      const s = await store();
      await s.write('rollouts/default/guestbook', { step: 1 });
      await s.close();

      const c = child(`
        const s = await openStateDir(dir, { beforeRename: async (temp) => {
          console.log('paused ' + temp);
          await new Promise(() => {}); // hang here until killed
        } });
        await s.write('rollouts/default/guestbook', { step: 2 });
      `);
      const paused = await c.line(/paused \S+/);
      const temp = paused.slice('paused '.length);
      expect(JSON.parse(await fs.readFile(temp, 'utf8')).value).toEqual({ step: 2 });
      c.process.kill('SIGKILL');
      await c.exited;

      // A reader without the lock sees the old value and no extra key, and leaves the temp file alone.
      const reader = await store({ readOnly: true });
      expect(await reader.read('rollouts/default/guestbook')).toEqual({ step: 1 });
      expect(await reader.list()).toEqual(['rollouts/default/guestbook']);
      await expect(fs.stat(temp)).resolves.toBeDefined();

      // Opening with the lock takes over the dead child's lock and removes its leftover temp file.
      const after = await store();
      await expect(fs.stat(temp)).rejects.toMatchObject({ code: 'ENOENT' });
      expect(await after.read('rollouts/default/guestbook')).toEqual({ step: 1 });
      const lock = JSON.parse(await fs.readFile(path.join(dir, LOCK_FILE), 'utf8'));
      expect(lock.pid).toBe(process.pid);
    });

    it('a failed write leaves the old value and no temp file behind', async () => {
      const s = await openStateDir(dir, {
        beforeRename: () => {
          throw new Error('disk on fire');
        },
      });
      open.push(s);
      await expect(s.write('k', { v: 1 })).rejects.toThrow('disk on fire');
      expect(await s.read('k')).toBeUndefined();
      expect(await fs.readdir(dir)).toEqual([LOCK_FILE]);
    });
  });

  describe('damaged files', () => {
    it.each([
      [
        'truncated',
        (t: string) => t.slice(0, Math.floor(t.length / 2)),
        /not valid JSON, probably truncated/,
      ],
      ['empty', () => '', /the file is empty/],
      [
        'a newer format',
        (t: string) => t.replace('"version":1', '"version":2'),
        /format version 2, this Vireo reads version 1 \(written by a newer Vireo\?\)/,
      ],
      ['not an object', () => '[1,2]', /expected a JSON object with version, kind, savedAt and value/],
      [
        'without value',
        () => '{"version":1,"kind":"x","savedAt":"2026-01-01T00:00:00Z"}',
        /there is no value/,
      ],
    ])(
      '%s: a clear error naming the file; the file is kept and not overwritten',
      async (_name, damage, problem) => {
        const s = await store();
        await s.write('rollouts/default/guestbook', { step: 5 });
        const file = path.join(dir, 'rollouts', 'default', 'guestbook.json');
        const damaged = damage(await fs.readFile(file, 'utf8'));
        await fs.writeFile(file, damaged);

        const err = await s.read('rollouts/default/guestbook').catch((e: unknown) => e);
        expect(err).toBeInstanceOf(StateFileDamagedError);
        expect((err as Error).message).toContain(`state file ${file} is damaged: `);
        expect((err as Error).message).toMatch(problem);
        expect((err as Error).message).toMatch(/It has been left as it is/);

        await expect(s.write('rollouts/default/guestbook', { step: 0 })).rejects.toThrow(
          StateFileDamagedError,
        );
        expect(await fs.readFile(file, 'utf8')).toBe(damaged);
        // Listing still shows the key, so the damage is not hidden.
        expect(await s.list('rollouts/')).toEqual(['rollouts/default/guestbook']);

        // Replacing on purpose keeps the damaged content beside it.
        await s.write('rollouts/default/guestbook', { step: 0 }, { replaceDamaged: true });
        expect(await s.read('rollouts/default/guestbook')).toEqual({ step: 0 });
        const kept = (await fs.readdir(path.dirname(file))).filter((n) =>
          n.startsWith('guestbook.json.damaged-'),
        );
        expect(kept).toHaveLength(1);
        expect(await fs.readFile(path.join(path.dirname(file), kept[0]!), 'utf8')).toBe(damaged);
        expect(await s.list('rollouts/')).toEqual(['rollouts/default/guestbook']);
      },
    );
  });

  describe('lock', () => {
    it('a second process cannot open a directory this process holds, and can once it is released', async () => {
      const s = await store();
      const script = `
        try { const s = await openStateDir(dir); console.log('opened'); await s.close(); }
        catch (e) { console.log('refused: ' + e.message); process.exit(3); }
      `;
      const refused = child(script);
      expect(await refused.exited).toBe(3);
      expect(refused.out()).toMatch(
        new RegExp(
          `refused: state directory \\S+ is in use by pid ${process.pid} on .*that process is running`,
        ),
      );
      await s.close();
      const ok = child(script);
      expect(await ok.exited).toBe(0);
      expect(ok.out()).toContain('opened');
    });

    it('this process cannot open a directory a live second process holds; after kill -9 it takes the stale lock over', async () => {
      const holder = child(`await openStateDir(dir); console.log('holding'); setInterval(() => {}, 1000);`);
      await holder.line(/holding/);
      const err = await openStateDir(dir).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(StateDirLockedError);
      expect((err as Error).message).toContain(`in use by pid ${holder.process.pid} on ${hostname()}`);
      // Opening twice in one process is refused too.
      holder.process.kill('SIGKILL');
      await holder.exited;
      const s = await store();
      await expect(openStateDir(dir)).rejects.toThrow(/this process has it open already/);
      await s.write('k', 1);
      expect(JSON.parse(await fs.readFile(path.join(dir, LOCK_FILE), 'utf8')).pid).toBe(process.pid);
    });

    it('takes over a lock whose pid is dead, and refuses one from another host or unreadable', async () => {
      const dead = spawnSync(process.execPath, ['-e', '0']).pid!;
      const lockFile = path.join(dir, LOCK_FILE);
      await fs.writeFile(lockFile, JSON.stringify({ pid: dead, hostname: hostname(), startedAt: 'then' }));
      const s = await store();
      expect(JSON.parse(await fs.readFile(lockFile, 'utf8')).pid).toBe(process.pid);
      await s.close();
      await expect(fs.stat(lockFile)).rejects.toMatchObject({ code: 'ENOENT' });

      await fs.writeFile(lockFile, JSON.stringify({ pid: dead, hostname: 'elsewhere', startedAt: 'then' }));
      await expect(openStateDir(dir)).rejects.toThrow(/another machine holds the lock/);
      await fs.writeFile(lockFile, 'garbage');
      await expect(openStateDir(dir)).rejects.toThrow(/lock file \S+ is unreadable/);
      expect(await fs.readFile(lockFile, 'utf8')).toBe('garbage');
    });

    it('read-only stores need no lock and refuse to write', async () => {
      const s = await store();
      await s.write('k', 1);
      const reader = await store({ readOnly: true });
      expect(await reader.read('k')).toBe(1);
      await expect(reader.write('k', 2)).rejects.toThrow(/write on a read-only store/);
      await expect(reader.delete('k')).rejects.toThrow(/delete on a read-only store/);
    });
  });
});
