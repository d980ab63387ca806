#!/usr/bin/env node
/**
 * One entry point for `vireo` and `kubectl-vireo` (kubectl runs it as `kubectl vireo ...`).
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Command, CommanderError, Option } from 'commander';
import { parseGoDuration } from '../api/duration.js';
import { UserError } from '../platforms/local/runtime/runtime.js';
import { isScenarioName, SCENARIO_NAMES } from '../sim/simulate.js';
import { registerAnalyze } from './commands/analyze.js';
import { registerController } from './commands/controller.js';
import { runCrds } from './commands/crds.js';
import { registerDashboard } from './commands/dashboard.js';
import { runLint } from './commands/lint.js';
import { registerLoadtester } from './commands/loadtester.js';
import { registerLocal } from './commands/local.js';
import { runPlan } from './commands/plan.js';
import { runSimulate } from './commands/simulate.js';
import { ExitCode, type Io, parseOutput, processIo, UsageError } from './io.js';

const here = path.dirname(fileURLToPath(import.meta.url));

function packageVersion(): string {
  for (const rel of ['../../package.json', '../package.json']) {
    try {
      return (JSON.parse(readFileSync(path.join(here, rel), 'utf8')) as { version: string }).version;
    } catch {
      // try the next layout (src/ when run with tsx, dist/ when built)
    }
  }
  return 'unknown';
}

const collect = (value: string, previous: string[]) => [...previous, value];
const outputOption = () => new Option('-o, --output <format>', 'output format: json or yaml (default: text)');

export function buildProgram(io: Io, invokedAs = 'vireo'): { program: Command; exitCode: () => number } {
  let code: number = ExitCode.ok;
  const program = new Command(invokedAs === 'kubectl-vireo' ? 'kubectl vireo' : 'vireo');
  program
    .description(
      'Progressive delivery for Argo Rollouts and Flagger manifests, on Kubernetes or on one machine.',
    )
    .version(packageVersion(), '--version', 'print the version')
    .showHelpAfterError('(run with --help for usage)')
    .configureOutput({ writeOut: io.out, writeErr: io.err })
    .exitOverride();

  program
    .command('lint')
    .description('Check manifests: YAML, schemas of both dialects, Argo and Flagger rules, and common traps.')
    .requiredOption(
      '-f, --filename <path>',
      'a file, a directory (read recursively) or - for standard input; repeatable',
      collect,
      [],
    )
    .option('--strict', 'exit 1 on warnings too')
    .option(
      '--scrape-interval <seconds>',
      'seconds between samples of your monitoring system, for the data-point check',
      '15',
    )
    .addOption(outputOption())
    .addHelpText(
      'after',
      '\nExit codes: 0 no errors (warnings may be printed), 1 errors found (or warnings with --strict), 2 usage error.',
    )
    .action((o: { filename: string[]; strict?: boolean; scrapeInterval: string; output?: string }) => {
      const scrape = Number(o.scrapeInterval);
      if (!Number.isFinite(scrape) || scrape <= 0)
        throw new UsageError(`--scrape-interval ${o.scrapeInterval}: must be a positive number of seconds`);
      code = runLint(
        {
          files: o.filename,
          output: parseOutput(o.output),
          strict: o.strict === true,
          scrapeInterval: scrape,
        },
        io,
      );
    });

  program
    .command('plan')
    .description(
      'Show a release as a timeline: weights, replicas, pauses, analyses, time to promotion and earliest abort.',
    )
    .requiredOption(
      '-f, --filename <path>',
      'files with the Rollout or Canary and the templates it uses; repeatable',
      collect,
      [],
    )
    .option('--name <name>', 'which Rollout or Canary, when the files hold several')
    .addOption(outputOption())
    .addHelpText('after', '\nExit codes: 0 planned, 1 the manifests have errors, 2 usage error.')
    .action((o: { filename: string[]; name?: string; output?: string }) => {
      code = runPlan(
        { files: o.filename, output: parseOutput(o.output), ...(o.name ? { name: o.name } : {}) },
        io,
      );
    });

  program
    .command('simulate')
    .description(
      'Run a release against simulated traffic, pods and metrics on a virtual clock, and report the decision.',
    )
    .requiredOption(
      '-f, --filename <path>',
      'files with the Rollout or Canary and the templates it uses; repeatable',
      collect,
      [],
    )
    .requiredOption('--scenario <name>', `what happens to the new version: ${SCENARIO_NAMES.join(', ')}`)
    .option('--seed <n>', 'seed of the simulated randomness', '0')
    .option('--name <name>', 'which Rollout or Canary, when the files hold several')
    .option('--rps <n>', 'mean requests per second of the simulated traffic', '20')
    .option('--max-duration <duration>', 'stop if nothing was decided after this long (Go duration)', '24h')
    .option('--degrade-after <duration>', 'degrading-canary: when the new version starts failing', '4m')
    .option('--crash-after <duration>', 'crashing-canary: how long new pods run before they crash', '30s')
    .option(
      '--promote-after <duration>',
      'a simulated operator promotes this long after the release pauses for a user (pause without duration, blue/green pause)',
    )
    .addOption(
      new Option('--expect <outcome>', 'exit 1 unless the outcome is this').choices(['promoted', 'aborted']),
    )
    .addOption(outputOption())
    .addHelpText(
      'after',
      '\nExit codes: 0 simulated (and the outcome is --expect, if given), 1 the manifests have errors or the outcome differs, 2 usage error.',
    )
    .action(
      (o: {
        filename: string[];
        scenario: string;
        seed: string;
        name?: string;
        rps: string;
        maxDuration: string;
        degradeAfter: string;
        crashAfter: string;
        promoteAfter?: string;
        expect?: 'promoted' | 'aborted';
        output?: string;
      }) => {
        if (!isScenarioName(o.scenario))
          throw new UsageError(
            `--scenario ${o.scenario}: unknown scenario (allowed: ${SCENARIO_NAMES.join(', ')})`,
          );
        const seed = Number(o.seed);
        if (!Number.isSafeInteger(seed)) throw new UsageError(`--seed ${o.seed}: must be an integer`);
        const rps = Number(o.rps);
        if (!Number.isFinite(rps) || rps <= 0 || rps > 100_000)
          throw new UsageError(`--rps ${o.rps}: must be a number of requests per second in (0, 100000]`);
        const duration = (flag: string, v: string) => {
          const ms = parseGoDuration(v);
          if (ms === undefined || ms <= 0)
            throw new UsageError(`${flag} ${v}: must be a positive Go duration such as 90s or 2h`);
          return ms;
        };
        code = runSimulate(
          {
            files: o.filename,
            scenario: o.scenario,
            seed,
            output: parseOutput(o.output),
            rps,
            maxMs: Math.min(duration('--max-duration', o.maxDuration), 7 * 24 * 3_600_000),
            degradeAfterMs: duration('--degrade-after', o.degradeAfter),
            crashAfterMs: duration('--crash-after', o.crashAfter),
            ...(o.promoteAfter !== undefined
              ? { promoteAfterMs: duration('--promote-after', o.promoteAfter) }
              : {}),
            ...(o.name ? { name: o.name } : {}),
            ...(o.expect ? { expect: o.expect } : {}),
          },
          io,
        );
      },
    );

  program
    .command('crds')
    .description(
      'Print the CustomResourceDefinitions of both dialects (or write one file per kind with --out).',
    )
    .option('--out <dir>', 'write one YAML file per CRD into this directory')
    .addOption(outputOption())
    .action((o: { out?: string; output?: string }) => {
      code = runCrds({ output: parseOutput(o.output), ...(o.out ? { outDir: o.out } : {}) }, io);
    });

  program
    .command('version')
    .description('Print the version.')
    .addOption(outputOption())
    .action((o: { output?: string }) => {
      const format = parseOutput(o.output);
      const v = packageVersion();
      io.out(
        format === 'text'
          ? `vireo ${v}\n`
          : format === 'json'
            ? `${JSON.stringify({ version: v })}\n`
            : `version: ${v}\n`,
      );
    });

  registerAnalyze(program, io, (n) => {
    code = n;
  });
  registerLoadtester(program, io, (n) => {
    code = n;
  });
  registerDashboard(program, io, (n) => {
    code = n;
  });
  registerLocal(program, io, (n) => {
    code = n;
  });
  registerController(
    program,
    io,
    (n) => {
      code = n;
    },
    packageVersion(),
  );

  return { program, exitCode: () => code };
}

/** Runs the CLI with `argv` (without node and script) and returns the exit code. */
export async function run(argv: string[], io: Io = processIo, invokedAs = 'vireo'): Promise<number> {
  const { program, exitCode } = buildProgram(io, invokedAs);
  try {
    await program.parseAsync(argv, { from: 'user' });
    return exitCode();
  } catch (e) {
    if (e instanceof CommanderError) {
      // --help and --version end here with exit code 0.
      return e.exitCode === 0 ? ExitCode.ok : ExitCode.usage;
    }
    if (e instanceof UserError) {
      io.err(`error: ${e.message}\n`);
      return ExitCode.findings;
    }
    if (e instanceof UsageError) {
      io.err(`error: ${e.message}\n`);
      return ExitCode.usage;
    }
    io.err(`error: ${(e as Error).message}\n`);
    return ExitCode.usage;
  }
}

const isMain =
  process.argv[1] !== undefined && /(?:^|[/\\])(?:main\.[jt]s|vireo|kubectl-vireo)$/.test(process.argv[1]);
if (isMain) {
  const invokedAs = path.basename(process.argv[1] ?? 'vireo').replace(/\.[jt]s$/, '');
  run(process.argv.slice(2), processIo, invokedAs === 'kubectl-vireo' ? 'kubectl-vireo' : 'vireo').then(
    (c) => {
      process.exitCode = c;
    },
  );
}
