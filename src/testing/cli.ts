import type { Io } from '../cli/io.js';
import { run } from '../cli/main.js';

/** Run the CLI in-process with captured output (tests only). */
export async function runCli(args: string[], stdin = '', invokedAs = 'vireo') {
  let out = '';
  let err = '';
  const io: Io = {
    out: (t) => {
      out += t;
    },
    err: (t) => {
      err += t;
    },
    stdin: () => stdin,
  };
  const code = await run(args, io, invokedAs);
  return { code, out, err };
}
