/**
 * The two distributions the paired tests need: the binomial (exact McNemar) and the standard
 * normal (MAPSSWE). Pure functions, no dependencies.
 */

const LN_SQRT_2PI = 0.5 * Math.log(2 * Math.PI);

/**
 * Complementary error function, Numerical Recipes `erfcc` (Chebyshev fit): relative error
 * < 1.2e-7 for every x, including the far tail, which is what small p-values need. Clamped to
 * erfc(x) <= 1 for x >= 0 (and >= 1 for x < 0), so Φ and two-sided p-values stay in [0, 1].
 */
export function erfc(x: number): number {
  const z = Math.abs(x);
  const t = 1 / (1 + 0.5 * z);
  const r =
    t *
    Math.exp(
      -z * z -
        1.26551223 +
        t *
          (1.00002368 +
            t *
              (0.37409196 +
                t *
                  (0.09678418 +
                    t * (-0.18628806 + t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277)))))))),
    );
  // The fit overshoots 1 by ~3e-8 at 0; clamp so p-values and probabilities stay in range.
  return x >= 0 ? Math.min(1, r) : Math.max(1, 2 - r);
}

/** Standard normal CDF Φ(x) = erfc(-x/√2)/2 (so the lower tail keeps its relative accuracy). */
export function normalCdf(x: number): number {
  return 0.5 * erfc(-x / Math.SQRT2);
}

/** Two-sided normal p-value 2·(1 - Φ(|z|)), computed as erfc(|z|/√2) to avoid 1 - Φ cancellation. */
export function twoSidedNormalP(z: number): number {
  if (Number.isNaN(z)) return NaN;
  return erfc(Math.abs(z) / Math.SQRT2);
}

/** log(n!) for n <= 15, exact factorial in a double (15! < 2^53). */
function logFactorialSmall(n: number): number {
  let f = 1;
  for (let i = 2; i <= n; i++) f *= i;
  return Math.log(f);
}

/**
 * Stirling-series remainder δ(n) = log n! - [(n + ½) log n - n + ½ log 2π] (Loader 2000). Computed
 * directly for small n, by its asymptotic series otherwise; absolute error ~1e-16 either way.
 */
function stirlerr(n: number): number {
  if (n <= 15) return logFactorialSmall(n) - ((n + 0.5) * Math.log(n) - n + LN_SQRT_2PI);
  const nn = n * n;
  const S0 = 1 / 12;
  const S1 = 1 / 360;
  const S2 = 1 / 1260;
  const S3 = 1 / 1680;
  const S4 = 1 / 1188;
  return (S0 - (S1 - (S2 - (S3 - S4 / nn) / nn) / nn) / nn) / n;
}

/** Deviance term bd0(x, np) = x log(x/np) + np - x, by a series when x ≈ np to avoid cancellation (Loader 2000). */
function bd0(x: number, np: number): number {
  if (Math.abs(x - np) < 0.1 * (x + np)) {
    let v = (x - np) / (x + np);
    let s = (x - np) * v;
    let ej = 2 * x * v;
    v *= v;
    for (let j = 1; j < 1000; j++) {
      ej *= v;
      const s1 = s + ej / (2 * j + 1);
      if (s1 === s) return s1;
      s = s1;
    }
    return s;
  }
  return x * Math.log(x / np) + np - x;
}

function checkBinomialArgs(k: number, n: number, p: number, fn: string): void {
  if (!Number.isInteger(n) || n < 0) throw new Error(`${fn}: n must be a non-negative integer, got ${n}`);
  if (!Number.isInteger(k)) throw new Error(`${fn}: k must be an integer, got ${k}`);
  if (!(p >= 0 && p <= 1)) throw new Error(`${fn}: p must lie in [0, 1], got ${p}`);
}

/**
 * log P(X = k), X ~ Binomial(n, p), by Loader's saddle-point formula (the algorithm of R's
 * dbinom): relative accuracy ~1e-15 even for n = 1e6, where lgamma differences would lose digits.
 */
export function binomialLogPmf(k: number, n: number, p: number): number {
  checkBinomialArgs(k, n, p, "binomialLogPmf");
  if (k < 0 || k > n) return -Infinity;
  const q = 1 - p;
  if (p === 0) return k === 0 ? 0 : -Infinity;
  if (q === 0) return k === n ? 0 : -Infinity;
  if (k === 0) return n * Math.log1p(-p);
  if (k === n) return n * Math.log(p);
  const lc = stirlerr(n) - stirlerr(k) - stirlerr(n - k) - bd0(k, n * p) - bd0(n - k, n * q);
  return lc + 0.5 * Math.log(n / (2 * Math.PI * k * (n - k)));
}

/**
 * log of the tail sum Σ_{i ≤ k} P(X = i) for k at or below the mode, where terms decrease away from
 * k: factor out P(X = k) and add the ratios P(X = i-1)/P(X = i) = i q / ((n - i + 1) p) until they
 * no longer change the sum. At most k + 1 terms; far fewer unless k is near the mode.
 */
function logLowerTailBelowMode(k: number, n: number, p: number): number {
  const q = 1 - p;
  let term = 1;
  let sum = 1;
  for (let i = k; i >= 1; i--) {
    term *= (i * q) / ((n - i + 1) * p);
    sum += term;
    if (term < sum * 1e-17) break;
  }
  return binomialLogPmf(k, n, p) + Math.log(sum);
}

/**
 * log P(X ≤ k), X ~ Binomial(n, p), computed in log space so tiny tails (down to e^-1e6) neither
 * underflow nor lose precision. Above the mean, uses log(1 - P(X ≥ k + 1)) with the upper tail
 * summed the same way (by the symmetry X ↔ n - X).
 */
export function binomialLogCdf(k: number, n: number, p: number): number {
  checkBinomialArgs(k, n, p, "binomialLogCdf");
  if (k < 0) return -Infinity;
  if (k >= n) return 0;
  if (p === 0) return 0;
  if (p === 1) return -Infinity;
  if (k <= n * p) return logLowerTailBelowMode(k, n, p);
  // P(X >= k+1) = P(n - X <= n - k - 1) with n - X ~ Binomial(n, 1 - p), and n-k-1 < n(1-p).
  const logUpper = logLowerTailBelowMode(n - k - 1, n, 1 - p);
  return Math.log1p(-Math.exp(logUpper));
}
