// tsc does not keep the executable bit; npm links bin files only when they are executable.
import { chmodSync } from 'node:fs';

chmodSync(new URL('../dist/cli/main.js', import.meta.url), 0o755);
