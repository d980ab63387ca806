/**
 * Seeded randomness for the simulator. The generator is pure-rand's xoroshiro128+ (a well-kept
 * library, already used by fast-check); the few distributions the traffic model needs (normal,
 * Poisson, binomial) are written here because pure-rand only ships uniform ones.
 */
import { uniformFloat64 } from 'pure-rand/distribution/uniformFloat64';
import { xoroshiro128plus } from 'pure-rand/generator/xoroshiro128plus';

export interface Random {
  /** Uniform in [0, 1). */
  uniform(): number;
  /** Standard normal (Box-Muller). */
  normal(): number;
  /** Poisson-distributed count with mean `lambda`. */
  poisson(lambda: number): number;
  /** Successes in `n` trials of probability `p`. */
  binomial(n: number, p: number): number;
}

/** Above this mean the normal approximation is used: exact enough for traffic counts, and O(1). */
const APPROX_MEAN = 30;

export function seededRandom(seed: number): Random {
  const rng = xoroshiro128plus(seed | 0);
  const uniform = () => uniformFloat64(rng);
  const normal = () => {
    // 1 - u keeps the logarithm finite (u may be 0).
    const u = 1 - uniform();
    const v = uniform();
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
  };
  const poisson = (lambda: number): number => {
    if (!(lambda > 0)) return 0;
    if (lambda > APPROX_MEAN) return Math.max(0, Math.round(lambda + Math.sqrt(lambda) * normal()));
    // Knuth's product method: expected lambda+1 draws.
    const limit = Math.exp(-lambda);
    let k = 0;
    let prod = uniform();
    while (prod > limit) {
      k++;
      prod *= uniform();
    }
    return k;
  };
  const binomial = (n: number, p: number): number => {
    if (n <= 0 || !(p > 0)) return 0;
    if (p >= 1) return n;
    const mean = n * p;
    const variance = mean * (1 - p);
    if (variance > APPROX_MEAN) {
      return Math.min(n, Math.max(0, Math.round(mean + Math.sqrt(variance) * normal())));
    }
    // Rare events in many trials behave like Poisson; otherwise count the trials.
    if (n > 200 && p < 0.05) return Math.min(n, poisson(mean));
    if (n > 200 && p > 0.95) return n - Math.min(n, poisson(n * (1 - p)));
    let k = 0;
    for (let i = 0; i < n; i++) if (uniform() < p) k++;
    return k;
  };
  return { uniform, normal, poisson, binomial };
}
