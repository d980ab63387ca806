import { spawn } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { groupMembers, procStat, words } from './util.js';

describe('words', () => {
  it('splits the literal text at whitespace and keeps each value one argument', () => {
    const path = '/tmp/a dir/x.key';
    expect(words`genpkey -out ${path}`).toEqual(['genpkey', '-out', '/tmp/a dir/x.key']);
    expect(words`--data-dir=${path}
        --port=${8080}  -v`).toEqual(['--data-dir=/tmp/a dir/x.key', '--port=8080', '-v']);
    expect(words`${'a'}${'b'} ${''}`).toEqual(['ab', '']);
  });
});

describe('procStat and groupMembers', () => {
  it('see a process group until it ends', async () => {
    const child = spawn('sh', ['-c', 'sleep 30 & sleep 30; wait'], { detached: true, stdio: 'ignore' });
    const pid = child.pid!;
    const exited = new Promise((r) => child.on('exit', r));
    expect(procStat(pid)?.pgrp).toBe(pid);
    expect(procStat(process.pid)?.startTime).toBeGreaterThan(0);
    await expect.poll(() => groupMembers(pid).length).toBe(3);
    process.kill(-pid, 'SIGKILL');
    await exited;
    await expect.poll(() => groupMembers(pid)).toEqual([]);
  });
});
