/**
 * `npm run bench`: the condition language against a reference measured in the same run, so the
 * numbers are ratios that mean the same on any machine. Reference: the same condition written as a
 * plain JavaScript function (what the fastest possible evaluator would cost).
 */
import { compile, evaluate } from '../src/index.js';

function time(label: string, runs: number, fn: () => void): number {
  for (let i = 0; i < Math.min(runs, 1000); i++) fn(); // warm up
  const started = process.hrtime.bigint();
  for (let i = 0; i < runs; i++) fn();
  const ns = Number(process.hrtime.bigint() - started) / runs;
  console.log(`${label.padEnd(70)} ${(ns / 1000).toFixed(2).padStart(9)} µs/op`);
  return ns;
}

const env = { result: [0.95, 0.97, 0.99] };
const cases: [string, (r: number[]) => boolean][] = [
  ['result[0] > 0.90', (r) => (r[0] as number) > 0.9],
  ['all(result, {# > 0.9}) && len(result) > 0', (r) => r.every((x) => x > 0.9) && r.length > 0],
  ['isNaN(result[0]) || result[0] >= 0.95', (r) => Number.isNaN(r[0]) || (r[0] as number) >= 0.95],
];

let worst = 0;
for (const [expression, native] of cases) {
  const reference = time(`native JS: ${expression}`, 1_000_000, () => native(env.result));
  const compiled = compile(expression);
  const run = time(`compiled, run: ${expression}`, 200_000, () => compiled.run(env));
  const cold = time(`parse + check + run: ${expression}`, 20_000, () => evaluate(expression, env));
  const ratio = run / reference;
  worst = Math.max(worst, ratio);
  console.log(`  ratio compiled/native ${ratio.toFixed(1)}x, cold/native ${(cold / reference).toFixed(1)}x`);
}
// A controller evaluates each condition once per measurement; even 1000x native is microseconds.
console.log(`worst compiled/native ratio: ${worst.toFixed(1)}x`);
