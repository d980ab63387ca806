/**
 * Test harness helper: make sure a program from Debian's packages is there, installing the package
 * when it is missing (as CI starts from a fresh machine). Installs are serialised with flock so test
 * files running in parallel do not fight over apt's lock.
 */
import { execFileSync, spawnSync } from 'node:child_process';

const which = (command: string): string | undefined => {
  const r = spawnSync('sh', ['-c', `command -v ${command}`], { encoding: 'utf8' });
  const path = r.stdout.trim();
  return r.status === 0 && path ? path : undefined;
};

/** Whether `command` is on PATH (nothing is installed). */
export const commandExists = (command: string): boolean => which(command) !== undefined;

/** The path of `command`, installing Debian package `pkg` first if needed; throws saying why it cannot. */
export function ensureCommand(command: string, pkg: string): string {
  const found = which(command);
  if (found) return found;
  const asRoot = process.getuid?.() === 0;
  const prefix = asRoot ? [] : ['sudo', '-n'];
  const script = `flock /tmp/vireo-apt.lock sh -c 'command -v ${command} >/dev/null || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends ${pkg})'`;
  try {
    execFileSync(prefix[0] ?? 'sh', [...prefix.slice(1), ...(prefix.length ? ['sh'] : []), '-c', script], {
      stdio: ['ignore', 'ignore', 'pipe'],
      timeout: 10 * 60_000,
    });
  } catch (e) {
    throw new Error(
      `${command} is missing and installing Debian package ${pkg} failed: ${(e as Error).message}`,
    );
  }
  const installed = which(command);
  if (!installed) throw new Error(`installed Debian package ${pkg}, but ${command} is still not on PATH`);
  return installed;
}
