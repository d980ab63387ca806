/**
 * Vitest setup: every fast-check property runs from one seed, so CI is reproducible and a red run
 * can be replayed. `VIREO_FC_SEED=<n>` replays a seed; `VIREO_FC_SEED=random` (what `npm run fuzz`
 * sets) explores new cases: fast-check prints the seed of any counterexample it finds.
 */
import fc from 'fast-check';

const DEFAULT_SEED = 20261122;
const given = process.env.VIREO_FC_SEED;

if (given !== 'random') {
  const seed = given === undefined || given === '' ? DEFAULT_SEED : Number(given);
  if (!Number.isSafeInteger(seed)) throw new Error(`VIREO_FC_SEED=${given}: give an integer or "random"`);
  fc.configureGlobal({ ...fc.readConfigureGlobal(), seed });
}
