// The benches' one timing rule: interleaved calls, best of several, so a noisy neighbour slows every
// setup alike and the ratios within one run hold. No runtime imports: Node and Deno both load it.

/**
 * Best seconds of `runs` calls of each function, interleaved, after one warm-up call each (memory
 * growth, tier-up of the compiled kernels). A function that resolves with a number reports its own
 * seconds (numpy's, timed inside python); any other call is timed here.
 */
export async function bestOf(fns, runs) {
  for (const fn of fns) await fn();
  const best = fns.map(() => Infinity);
  for (let run = 0; run < runs; run++) {
    for (let i = 0; i < fns.length; i++) {
      const start = performance.now();
      const reported = await fns[i]();
      const seconds = typeof reported === 'number' ? reported : (performance.now() - start) / 1000;
      best[i] = Math.min(best[i], seconds);
    }
  }
  return best;
}
