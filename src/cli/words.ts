/**
 * Small pieces of wording shared by the commands: counts with their noun ("1 row", "50,000 rows")
 * and the "did you mean" guess for a mistyped command or option.
 */

/** 1234567 → '1,234,567': counts for people, the same in every command. */
export function formatCount(count: number): string {
  return Math.round(count).toLocaleString('en-US');
}

/** '1 row', '50,000 rows', '2 identities' (pass the plural when it is not singular + 's'). */
export function counted(count: number, singular: string, plural = `${singular}s`): string {
  return `${formatCount(count)} ${count === 1 ? singular : plural}`;
}

/** Edit distance counting a swap of two neighbouring characters as one edit (optimal string alignment). */
export function editDistance(a: string, b: string): number {
  const rows = a.length + 1;
  const cols = b.length + 1;
  const d = new Uint16Array(rows * cols);
  for (let i = 0; i < rows; i++) d[i * cols] = i;
  for (let j = 0; j < cols; j++) d[j] = j;
  for (let i = 1; i < rows; i++) {
    for (let j = 1; j < cols; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let best = Math.min(d[(i - 1) * cols + j]! + 1, d[i * cols + j - 1]! + 1, d[(i - 1) * cols + j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) {
        best = Math.min(best, d[(i - 2) * cols + j - 2]! + 1);
      }
      d[i * cols + j] = best;
    }
  }
  return d[rows * cols - 1]!;
}

/**
 * The candidate `word` was most likely meant as, or undefined when none is close: within a third of
 * the word's length in edits (at least 1, at most 3), or the only candidate it is a prefix of.
 */
export function closestWord(word: string, candidates: readonly string[]): string | undefined {
  const lower = word.toLowerCase();
  const limit = Math.min(3, Math.max(1, Math.floor(lower.length / 3)));
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const candidate of candidates) {
    const distance = editDistance(lower, candidate.toLowerCase());
    if (distance < bestDistance) {
      best = candidate;
      bestDistance = distance;
    }
  }
  if (best !== undefined && bestDistance <= limit) return best;
  const extending = candidates.filter((c) => lower.length >= 2 && c.toLowerCase().startsWith(lower));
  return extending.length === 1 ? extending[0] : undefined;
}
