/**
 * Go's math.Pow, bit for bit as it runs on linux/amd64 (where Argo Rollouts runs): expr-lang's
 * `**` is math.Pow, which on amd64 is the pure-Go algorithm of math/pow.go on top of the
 * assembly math.Exp (exp_amd64.s, its FMA variant on CPUs with AVX+FMA) and math.Log
 * (log_amd64.s). JS's `**`, Math.exp and Math.log round differently in the last bit.
 */

const F64 = new DataView(new ArrayBuffer(8));

function bitsOf(x: number): bigint {
  F64.setFloat64(0, x);
  return F64.getBigUint64(0);
}

function fromBits(b: bigint): number {
  F64.setBigUint64(0, BigInt.asUintN(64, b));
  return F64.getFloat64(0);
}

/** x = m × 2^e exactly, m a (signed) integer. */
function decompose(x: number): [bigint, number] {
  const b = bitsOf(x);
  const exp = Number((b >> 52n) & 0x7ffn);
  const frac = b & 0xfffffffffffffn;
  const m = exp === 0 ? frac : frac | (1n << 52n);
  return [b >> 63n ? -m : m, (exp === 0 ? 1 : exp) - 1075];
}

/** The double nearest to v × 2^e (ties to even). */
function roundToDouble(v: bigint, e: number): number {
  if (v === 0n) return 0;
  const neg = v < 0n;
  let a = neg ? -v : v;
  const length = a.toString(2).length;
  const lsb = Math.max(e + length - 53, -1074);
  let shift = lsb - e;
  let exp = e;
  if (shift > 0) {
    const big = BigInt(shift);
    const q = a >> big;
    const r = a - (q << big);
    const half = 1n << (big - 1n);
    a = r > half || (r === half && (q & 1n) === 1n) ? q + 1n : q;
    exp = lsb;
    shift = 0;
  }
  // a has at most 54 bits here: scale in two steps so neither factor over- or underflows early.
  const half = Math.trunc(exp / 2);
  const out = Number(a) * 2 ** half * 2 ** (exp - half);
  return neg ? -out : out;
}

/** Fused multiply-add a × b + c with a single rounding (VFMADD). Finite operands only. */
function fma(a: number, b: number, c: number): number {
  const [ma, ea] = decompose(a);
  const [mb, eb] = decompose(b);
  const [mc, ec] = decompose(c);
  const ep = ea + eb;
  const e = Math.min(ep, ec);
  return roundToDouble(((ma * mb) << BigInt(ep - e)) + (mc << BigInt(ec - e)), e);
}

const LN2U = 0.693147180559663;
const LN2L = 2.8235290563031577e-13;
const LOG2E = Math.LOG2E;
const EXP_COEFFICIENTS = [
  2.48015873015873e-5, 1.984126984126984e-4, 1.388888888888889e-3, 8.333333333333333e-3,
  4.1666666666666664e-2, 1.6666666666666666e-1, 0.5, 1.0,
];

/** CVTSD2SL: round to nearest even, the "integer indefinite" value when out of int32 range. */
function cvtsd2sl(x: number): number {
  if (!(x >= -2147483648.5 && x < 2147483647.5)) return -2147483648;
  const r = Math.round(x);
  return r - x === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

// Constants of exp_amd64.s and log_amd64.s, written as the doubles they round to.

/** math.Exp on amd64 with FMA (exp_amd64.s, after Shibata's SLEEF method). */
export function goExp(x: number): number {
  if (Number.isNaN(x) || x === Infinity) return x;
  if (x === -Infinity) return 0;
  if (x > 7.09782712893384e2) return Infinity;
  let n = cvtsd2sl(LOG2E * x);
  const k = n;
  let r = fma(-k, LN2U, x);
  r = fma(-k, LN2L, r);
  r *= 0.0625;
  let p = EXP_COEFFICIENTS[0] as number;
  for (const c of EXP_COEFFICIENTS.slice(1)) p = fma(p, r, c);
  r *= p;
  for (let i = 0; i < 3; i++) r *= r + 2.0;
  r = fma(r + 2.0, r, 1.0);
  n += 0x3ff;
  if (n >= 0x7ff) return Infinity;
  if (n <= 0) {
    if (n < -52) return 0;
    r *= fromBits(BigInt(n + 0x3fe) << 52n);
    n = 1;
  }
  return r * fromBits(BigInt(n) << 52n);
}

const HSQRT2 = Math.SQRT1_2;
const LN2HI = 6.931471803691238e-1;
const LN2LO = 1.9082149292705877e-10;
const L = [
  6.666666666666735e-1, 3.999999999940942e-1, 2.857142874366239e-1, 2.2222198432149784e-1,
  1.818357216161805e-1, 1.5313837699209373e-1, 1.4798198605116586e-1,
] as const;

/** math.Log on amd64 (log_amd64.s, FreeBSD's e_log.c method). */
export function goLog(x: number): number {
  if (x === 0) return -Infinity;
  if (x < 0 || Number.isNaN(x)) return Number.NaN;
  if (x === Infinity) return x;
  const b = bitsOf(x);
  let f1 = fromBits((b & 0xfffffffffffffn) | 0x3fe0000000000000n);
  let k = Number((b >> 52n) & 0x7ffn) - 0x3fe;
  // CMPSD …, 5 (not less than): the assembly tests f1 <= Sqrt2/2 where log.go has f1 < Sqrt2/2.
  if (f1 <= HSQRT2) {
    k -= 1;
    f1 *= 2;
  }
  const f = f1 - 1;
  const s = f / (2 + f);
  const s2 = s * s;
  const s4 = s2 * s2;
  const t1 = s2 * (L[0] + s4 * (L[2] + s4 * (L[4] + s4 * L[6])));
  const t2 = s4 * (L[1] + s4 * (L[3] + s4 * L[5]));
  const R = t1 + t2;
  const hfsq = 0.5 * f * f;
  return k * LN2HI - (hfsq - (s * (hfsq + R) + k * LN2LO) - f);
}

/** Go's math.Frexp: x = frac × 2^exp with |frac| in [0.5, 1). */
function frexp(x: number): [number, number] {
  if (x === 0 || !Number.isFinite(x)) return [x, 0];
  let e = 0;
  let v = x;
  if (Math.abs(v) < 2.2250738585072014e-308) {
    v *= 2 ** 52; // normalize a subnormal
    e = -52;
  }
  const b = bitsOf(v);
  e += Number((b >> 52n) & 0x7ffn) - 1022;
  return [fromBits((b & ~(0x7ffn << 52n)) | (1022n << 52n)), e];
}

/** Go's math.Ldexp: frac × 2^exp, rounding once when the result is subnormal. */
function ldexp(frac: number, exp: number): number {
  if (frac === 0 || !Number.isFinite(frac)) return frac;
  const [f, e] = frexp(frac);
  let x = exp + e - 1; // f in [0.5, 1) is 2^-1 × a mantissa in [1, 2)
  if (x < -1075) return frac < 0 ? -0 : 0;
  if (x > 1023) return frac < 0 ? -Infinity : Infinity;
  let m = 1;
  if (x < -1022) {
    x += 53;
    m = 2 ** -53;
  }
  return m * fromBits((bitsOf(f) & ~(0x7ffn << 52n)) | (BigInt(x + 1023) << 52n));
}

const isOddInt = (y: number): boolean =>
  Number.isInteger(y) && Math.abs(y) < 2 ** 53 && Math.abs(y % 2) === 1;

/** Go's math.Pow (math/pow.go): integer powers by repeated squaring of the Frexp mantissa. */
export function goPow(x: number, y: number): number {
  if (y === 0 || x === 1) return 1;
  if (y === 1) return x;
  if (Number.isNaN(x) || Number.isNaN(y)) return Number.NaN;
  if (x === 0) {
    if (y < 0) return Object.is(x, -0) && isOddInt(y) ? -Infinity : Infinity;
    return Object.is(x, -0) && isOddInt(y) ? x : 0;
  }
  if (!Number.isFinite(y)) {
    if (x === -1) return 1;
    return Math.abs(x) < 1 === y > 0 ? 0 : Infinity;
  }
  if (!Number.isFinite(x)) {
    if (x < 0) return goPow(1 / x, -y); // Pow(-0, -y)
    return y < 0 ? 0 : Infinity;
  }
  if (y === 0.5) return Math.sqrt(x);
  if (y === -0.5) return 1 / Math.sqrt(x);
  let yi = Math.trunc(Math.abs(y));
  let yf = Math.abs(y) - yi;
  if (yf !== 0 && x < 0) return Number.NaN;
  if (yi >= 2 ** 63) {
    if (x === -1) return 1;
    return Math.abs(x) < 1 === y > 0 ? 0 : Infinity;
  }
  let a1 = 1;
  let ae = 0;
  if (yf !== 0) {
    if (yf > 0.5) {
      yf--;
      yi++;
    }
    a1 = goExp(yf * goLog(x));
  }
  let [x1, xe] = frexp(x);
  for (let i = BigInt(yi); i !== 0n; i >>= 1n) {
    if (xe < -(1 << 12) || 1 << 12 < xe) {
      ae += xe; // catastrophic overflow: let Ldexp handle it
      break;
    }
    if ((i & 1n) === 1n) {
      a1 *= x1;
      ae += xe;
    }
    x1 *= x1;
    xe <<= 1;
    if (x1 < 0.5) {
      x1 += x1;
      xe--;
    }
  }
  if (y < 0) {
    a1 = 1 / a1;
    ae = -ae;
  }
  return ldexp(a1, ae);
}
