/**
 * Durable state of the local runtime: one JSON file per key under the state directory, written
 * atomically, and a lock so that one `vireo up` at a time uses a directory.
 *
 * - A key is a path of names (`rollouts/default/guestbook`) and lives in `<dir>/<key>.json`.
 * - A file is `{"version":1,"kind":...,"savedAt":...,"value":...}`.
 * - `write` puts the new content in a temporary file beside the target (`.<name>.json.tmp-<pid>-<rand>`),
 *   fsyncs it, renames it over the target and fsyncs the directory: after a crash at any moment the key
 *   holds either the old or the new value, never a mix. Leftover temporary files are never read, and are
 *   removed when the directory is next opened with the lock.
 * - A damaged file (empty, truncated, not JSON, unknown version, missing header) is an error that names the
 *   file and the problem. It is kept: `write` refuses to replace it unless told `replaceDamaged`, and even
 *   then moves it aside (`<name>.json.damaged-<time>`) rather than deleting it.
 * - `<dir>/vireo.lock` holds `{pid, hostname, startedAt}`. Opening a directory whose lock belongs to a live
 *   process fails naming that process; a lock left by a dead process (same host) is taken over.
 */
import { randomBytes } from 'node:crypto';
import { constants as fsConstants } from 'node:fs';
import * as fs from 'node:fs/promises';
import { hostname } from 'node:os';
import * as path from 'node:path';

export const STATE_FORMAT_VERSION = 1;
export const LOCK_FILE = 'vireo.lock';
const SUFFIX = '.json';
const TEMP_MARK = '.tmp-';
const NAME = /^[A-Za-z0-9_][A-Za-z0-9._-]*$/;

export interface StateHeader {
  version: typeof STATE_FORMAT_VERSION;
  kind: string;
  /** ISO 8601 time of the write. */
  savedAt: string;
}

export interface StateEntry<T> {
  header: StateHeader;
  value: T;
}

export interface WriteOptions {
  /** What the value is (`rollout`, `status`, ...); defaults to the key's first name. */
  kind?: string;
  /** Replace a damaged file; it is moved aside to `<file>.damaged-<time>`, never deleted. */
  replaceDamaged?: boolean;
}

export interface OpenOptions {
  /**
   * Open without the lock, for reading only (e.g. to show state while `vireo up` runs): `write` and
   * `delete` then throw, and leftover temporary files are left alone.
   */
  readOnly?: boolean;
  /** Test hook: runs after the temporary file is written and synced, before it is renamed into place. */
  beforeRename?: (tempFile: string, file: string) => void | Promise<void>;
}

export interface StateStore {
  readonly dir: string;
  /** The value of `key`, or undefined when there is none; throws StateFileDamagedError when damaged. */
  read<T>(key: string): Promise<T | undefined>;
  /** Like read, with the header. */
  readEntry<T>(key: string): Promise<StateEntry<T> | undefined>;
  write(key: string, value: unknown, options?: WriteOptions): Promise<void>;
  /** The keys that start with `prefix` (a string prefix of the key, e.g. `rollouts/` or `rollouts/def`), sorted. */
  list(prefix?: string): Promise<string[]>;
  /** Removes `key`; true when it was there. */
  delete(key: string): Promise<boolean>;
  /** Releases the lock. The store cannot be used afterwards. */
  close(): Promise<void>;
}

export class StateFileDamagedError extends Error {
  constructor(
    readonly file: string,
    readonly problem: string,
  ) {
    super(
      `state file ${file} is damaged: ${problem}. It has been left as it is: restore it from a backup, move it away, or replace it on purpose (write with replaceDamaged)`,
    );
    this.name = 'StateFileDamagedError';
  }
}

export class StateDirLockedError extends Error {
  constructor(
    readonly dir: string,
    readonly holder: LockInfo,
    readonly reason: string,
  ) {
    super(
      `state directory ${dir} is in use by pid ${holder.pid} on ${holder.hostname} (since ${holder.startedAt}): ${reason}. Stop that vireo up first, or use another --state-dir`,
    );
    this.name = 'StateDirLockedError';
  }
}

export interface LockInfo {
  pid: number;
  hostname: string;
  startedAt: string;
}

/** Checks a key and returns its file; throws saying what is wrong with it. */
function fileOf(dir: string, key: string): string {
  const parts = key.split('/');
  for (const part of parts) {
    if (!NAME.test(part) || part.includes(TEMP_MARK)) {
      throw new Error(
        `state key ${JSON.stringify(key)}: ${JSON.stringify(part)} is not allowed; a key is names separated by "/", each of letters, digits, ".", "_" and "-", not starting with "." or "-"`,
      );
    }
  }
  if (parts.length === 1 && `${key}${SUFFIX}` === LOCK_FILE) throw new Error(`state key ${key} is reserved`);
  return path.join(dir, ...parts) + SUFFIX;
}

const isTemp = (name: string) => name.startsWith('.') && name.includes(TEMP_MARK);

/** Parses a state file's text; the problem in words when it is damaged. */
export function parseStateFile<T>(
  text: string,
): { ok: true; entry: StateEntry<T> } | { ok: false; problem: string } {
  if (text.trim() === '') return { ok: false, problem: 'the file is empty (a write was cut short?)' };
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (e) {
    return {
      ok: false,
      problem: `not valid JSON, probably truncated (${(e as Error).message}; ${text.length} bytes)`,
    };
  }
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) {
    return { ok: false, problem: 'expected a JSON object with version, kind, savedAt and value' };
  }
  const d = doc as Record<string, unknown>;
  if (d.version !== STATE_FORMAT_VERSION) {
    const newer = typeof d.version === 'number' && d.version > STATE_FORMAT_VERSION;
    return {
      ok: false,
      problem: `format version ${JSON.stringify(d.version)}, this Vireo reads version ${STATE_FORMAT_VERSION}${newer ? ' (written by a newer Vireo?)' : ''}`,
    };
  }
  if (typeof d.kind !== 'string' || d.kind === '') return { ok: false, problem: 'the header has no kind' };
  if (typeof d.savedAt !== 'string' || Number.isNaN(Date.parse(d.savedAt))) {
    return { ok: false, problem: 'the header has no valid savedAt time' };
  }
  if (!('value' in d)) return { ok: false, problem: 'there is no value' };
  return {
    ok: true,
    entry: {
      header: { version: STATE_FORMAT_VERSION, kind: d.kind, savedAt: d.savedAt },
      value: d.value as T,
    },
  };
}

async function fsyncDir(dir: string): Promise<void> {
  const handle = await fs.open(dir, fsConstants.O_RDONLY);
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

async function readIfExists(file: string): Promise<string | undefined> {
  try {
    return await fs.readFile(file, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw e;
  }
}

/** Writes `text` to a new temporary file beside `file`, synced; returns its path. */
async function writeTemp(file: string, text: string): Promise<string> {
  const temp = path.join(
    path.dirname(file),
    `.${path.basename(file)}${TEMP_MARK}${process.pid}-${randomBytes(4).toString('hex')}`,
  );
  const handle = await fs.open(temp, 'wx', 0o600);
  try {
    await handle.writeFile(text, 'utf8');
    await handle.sync();
  } finally {
    await handle.close();
  }
  return temp;
}

/** Whether a process with this pid exists on this machine (EPERM: it exists, owned by someone else). */
export function pidAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function parseLock(text: string | undefined): LockInfo | undefined {
  if (text === undefined) return undefined;
  try {
    const l = JSON.parse(text) as Partial<LockInfo>;
    if (typeof l.pid === 'number' && typeof l.hostname === 'string' && typeof l.startedAt === 'string') {
      return { pid: l.pid, hostname: l.hostname, startedAt: l.startedAt };
    }
  } catch {
    // fall through: an unreadable lock is reported as such
  }
  return undefined;
}

/**
 * Takes `<dir>/vireo.lock`. The lock file is created complete (written to a temporary file, then linked
 * into place, which fails if a lock exists), so a lock is never seen half-written.
 */
async function acquireLock(dir: string): Promise<LockInfo> {
  const lockFile = path.join(dir, LOCK_FILE);
  const mine: LockInfo = { pid: process.pid, hostname: hostname(), startedAt: new Date().toISOString() };
  const temp = await writeTemp(lockFile, `${JSON.stringify(mine)}\n`);
  try {
    for (let attempt = 0; attempt < 5; attempt++) {
      try {
        await fs.link(temp, lockFile);
        await fsyncDir(dir);
        return mine;
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      }
      const text = await readIfExists(lockFile);
      if (text === undefined) continue; // released meanwhile: try again
      const holder = parseLock(text);
      if (!holder) {
        throw new Error(
          `state directory ${dir}: lock file ${lockFile} is unreadable (${JSON.stringify(text.slice(0, 80))}); it was not written by Vireo's link-into-place, so it is left alone: remove it if no vireo up uses this directory`,
        );
      }
      if (holder.hostname !== mine.hostname) {
        throw new StateDirLockedError(
          dir,
          holder,
          'another machine holds the lock; its pid cannot be checked from here',
        );
      }
      if (holder.pid === process.pid) {
        throw new StateDirLockedError(dir, holder, 'this process has it open already');
      }
      if (pidAlive(holder.pid)) throw new StateDirLockedError(dir, holder, 'that process is running');
      // Stale: its process is gone. Move it aside (only one taker can move a given file), then check that
      // what we moved is the stale lock we judged, and not a lock a concurrent taker has just written.
      const aside = `${lockFile}.stale-${process.pid}-${randomBytes(4).toString('hex')}`;
      try {
        await fs.rename(lockFile, aside);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === 'ENOENT') continue;
        throw e;
      }
      const moved = await readIfExists(aside);
      if (moved !== text) {
        // Someone else took over between our read and our move: put their lock back and report them.
        await fs.link(aside, lockFile).catch(() => undefined);
        await fs.rm(aside, { force: true });
        const other = parseLock(moved);
        if (other) throw new StateDirLockedError(dir, other, 'it has just taken over a stale lock');
        continue;
      }
      await fs.rm(aside, { force: true });
    }
    throw new Error(`state directory ${dir}: could not take the lock ${lockFile} after 5 attempts`);
  } finally {
    await fs.rm(temp, { force: true });
  }
}

async function removeTempFiles(dir: string): Promise<string[]> {
  const removed: string[] = [];
  const walk = async (d: string): Promise<void> => {
    for (const entry of await fs.readdir(d, { withFileTypes: true })) {
      const p = path.join(d, entry.name);
      if (entry.isDirectory()) await walk(p);
      else if (isTemp(entry.name)) {
        // A lock being taken by another process has its temporary file too: leave it while that lives.
        const lockTempPid = entry.name.startsWith(`.${LOCK_FILE}${TEMP_MARK}`)
          ? Number(entry.name.slice(`.${LOCK_FILE}${TEMP_MARK}`.length).split('-')[0])
          : undefined;
        if (lockTempPid !== undefined && pidAlive(lockTempPid)) continue;
        await fs.rm(p, { force: true });
        removed.push(p);
      }
    }
  };
  await walk(dir);
  return removed;
}

/**
 * Opens (creating it if needed) a state directory and takes its lock (unless `readOnly`). Throws
 * StateDirLockedError when another live process holds it.
 */
export async function openStateDir(dir: string, options: OpenOptions = {}): Promise<StateStore> {
  const root = path.resolve(dir);
  await fs.mkdir(root, { recursive: true });
  let lock: LockInfo | undefined;
  if (!options.readOnly) {
    lock = await acquireLock(root);
    await removeTempFiles(root);
  }
  const lockFile = path.join(root, LOCK_FILE);
  let closed = false;

  const usable = (op: string, writing: boolean): void => {
    if (closed) throw new Error(`state directory ${root}: ${op} after close`);
    if (writing && options.readOnly) throw new Error(`state directory ${root}: ${op} on a read-only store`);
  };

  const readEntry = async <T>(key: string): Promise<StateEntry<T> | undefined> => {
    usable('read', false);
    const file = fileOf(root, key);
    const text = await readIfExists(file);
    if (text === undefined) return undefined;
    const parsed = parseStateFile<T>(text);
    if (!parsed.ok) throw new StateFileDamagedError(file, parsed.problem);
    return parsed.entry;
  };

  return {
    dir: root,
    readEntry,
    read: async <T>(key: string) => (await readEntry<T>(key))?.value,

    async write(key, value, writeOptions = {}) {
      usable('write', true);
      const file = fileOf(root, key);
      if (value === undefined) throw new Error(`state key ${key}: cannot write undefined (use delete)`);
      const kind = writeOptions.kind ?? key.split('/')[0]!;
      const text = `${JSON.stringify({ version: STATE_FORMAT_VERSION, kind, savedAt: new Date().toISOString(), value })}\n`;
      const existing = await readIfExists(file);
      let damagedAside: string | undefined;
      if (existing !== undefined) {
        const parsed = parseStateFile(existing);
        if (!parsed.ok) {
          if (!writeOptions.replaceDamaged) throw new StateFileDamagedError(file, parsed.problem);
          damagedAside = `${file}.damaged-${new Date().toISOString().replace(/[:.]/g, '-')}`;
        }
      }
      const dirOfFile = path.dirname(file);
      await fs.mkdir(dirOfFile, { recursive: true });
      const temp = await writeTemp(file, text);
      try {
        await options.beforeRename?.(temp, file);
        if (damagedAside) await fs.link(file, damagedAside); // keep the damaged content
        await fs.rename(temp, file);
      } catch (e) {
        await fs.rm(temp, { force: true });
        throw e;
      }
      await fsyncDir(dirOfFile);
    },

    async list(prefix = '') {
      usable('list', false);
      const keys: string[] = [];
      // Walk from the deepest directory the prefix names completely.
      const slash = prefix.lastIndexOf('/');
      const base = slash >= 0 ? prefix.slice(0, slash) : '';
      const walk = async (d: string, keyPrefix: string): Promise<void> => {
        let entries: import('node:fs').Dirent[];
        try {
          entries = await fs.readdir(d, { withFileTypes: true });
        } catch (e) {
          if (
            (e as NodeJS.ErrnoException).code === 'ENOENT' ||
            (e as NodeJS.ErrnoException).code === 'ENOTDIR'
          )
            return;
          throw e;
        }
        for (const entry of entries) {
          if (!NAME.test(entry.name) || isTemp(entry.name)) continue;
          if (entry.isDirectory()) await walk(path.join(d, entry.name), `${keyPrefix}${entry.name}/`);
          else if (entry.isFile() && entry.name.endsWith(SUFFIX)) {
            keys.push(keyPrefix + entry.name.slice(0, -SUFFIX.length));
          }
        }
      };
      if (base.split('/').some((p) => p !== '' && !NAME.test(p))) return [];
      await walk(base ? path.join(root, ...base.split('/')) : root, base ? `${base}/` : '');
      return keys.filter((k) => k.startsWith(prefix)).sort();
    },

    async delete(key) {
      usable('delete', true);
      const file = fileOf(root, key);
      try {
        await fs.unlink(file);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === 'ENOENT') return false;
        throw e;
      }
      await fsyncDir(path.dirname(file));
      return true;
    },

    async close() {
      if (closed) return;
      closed = true;
      if (!lock) return;
      // Remove the lock only if it is still ours.
      const holder = parseLock(await readIfExists(lockFile));
      if (holder && holder.pid === lock.pid && holder.startedAt === lock.startedAt) {
        await fs.rm(lockFile, { force: true });
        await fsyncDir(root);
      }
    },
  };
}
