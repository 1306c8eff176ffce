// Rank statistics between a proxy's scores and true accuracies.

/** Ranks 1..n with ties given their average rank. */
export function ranks(xs: readonly number[]): number[] {
  const idx = xs.map((_, i) => i).sort((a, b) => (xs[a] < xs[b] ? -1 : xs[a] > xs[b] ? 1 : 0));
  const r = new Array<number>(xs.length);
  for (let i = 0; i < idx.length; ) {
    let j = i;
    while (j + 1 < idx.length && xs[idx[j + 1]] === xs[idx[i]]) j++;
    for (let k = i; k <= j; k++) r[idx[k]] = (i + j) / 2 + 1;
    i = j + 1;
  }
  return r;
}

/** Pearson's correlation of two paired samples (NaN when either is constant). */
export function pearson(a: readonly number[], b: readonly number[]): number {
  const n = a.length;
  const ma = a.reduce((s, x) => s + x, 0) / n;
  const mb = b.reduce((s, x) => s + x, 0) / n;
  let sab = 0;
  let saa = 0;
  let sbb = 0;
  for (let i = 0; i < n; i++) {
    sab += (a[i] - ma) * (b[i] - mb);
    saa += (a[i] - ma) ** 2;
    sbb += (b[i] - mb) ** 2;
  }
  return saa > 0 && sbb > 0 ? sab / Math.sqrt(saa * sbb) : Number.NaN;
}

function check(a: readonly number[], b: readonly number[]): void {
  if (a.length !== b.length) throw new RangeError(`rank statistics need paired samples (${a.length} vs ${b.length})`);
}

/** Spearman's rho: the Pearson correlation of the (tie-averaged) ranks. */
export function spearman(a: readonly number[], b: readonly number[]): number {
  check(a, b);
  return pearson(ranks(a), ranks(b));
}

/** Kendall's tau-b (ties in either variable accounted for). O(n^2), fine for thousands of cells. */
export function kendall(a: readonly number[], b: readonly number[]): number {
  check(a, b);
  let concordant = 0;
  let discordant = 0;
  let tiesA = 0;
  let tiesB = 0;
  for (let i = 0; i < a.length; i++) {
    for (let j = i + 1; j < a.length; j++) {
      const da = Math.sign(a[i] - a[j]);
      const db = Math.sign(b[i] - b[j]);
      if (da === 0 && db === 0) continue;
      if (da === 0) tiesA++;
      else if (db === 0) tiesB++;
      else if (da === db) concordant++;
      else discordant++;
    }
  }
  const denom = Math.sqrt((concordant + discordant + tiesA) * (concordant + discordant + tiesB));
  return denom > 0 ? (concordant - discordant) / denom : Number.NaN;
}

/** Of the truly best `fraction` of the cells, the share the proxy also puts in its best `fraction`. */
export function topPrecision(score: readonly number[], truth: readonly number[], fraction = 0.1): number {
  check(score, truth);
  const k = Math.max(1, Math.round(score.length * fraction));
  const top = (xs: readonly number[]) => new Set(xs.map((_, i) => i).sort((x, y) => (xs[y] < xs[x] ? -1 : xs[y] > xs[x] ? 1 : x - y)).slice(0, k));
  const a = top(score);
  let hit = 0;
  for (const i of top(truth)) if (a.has(i)) hit++;
  return hit / k;
}

/**
 * The vote of several scorers: for each item, its mean normalised rank over the score lists (0 = worst, 1 = best;
 * ties share their average rank; a non-finite or missing score, null in a log, ranks below every finite one).
 * Ranks, not raw scores, so that scorers on unrelated scales (a training loss, a log-determinant) weigh the same.
 * Relative to the items given: adding an item can change the others' votes.
 */
export function meanRanks(lists: readonly (readonly number[])[]): number[] {
  const n = lists[0]?.length ?? 0;
  if (lists.some((l) => l.length !== n)) throw new RangeError('a vote needs every scorer to score every item');
  const out = new Array<number>(n).fill(0);
  if (n === 0) return out;
  for (const l of lists) {
    const r = ranks(l.map((x) => (Number.isFinite(x) ? x : Number.NEGATIVE_INFINITY)));
    for (let i = 0; i < n; i++) out[i] += n > 1 ? (r[i] - 1) / (n - 1) / lists.length : 1 / lists.length;
  }
  return out;
}
