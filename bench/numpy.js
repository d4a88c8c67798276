// The same negCLIPLoss computed by numpy (float32 GEMM + stable log-sum-exps, bench/numpy-negclip.py),
// for the benches to print next to the engine's figures in the same run. Node only; null where
// python3 or numpy is missing.
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const SCRIPT = fileURLToPath(new URL('./numpy-negclip.py', import.meta.url));

/** Whether `python3 -c 'import numpy'` works here. */
export function hasNumpy() {
  const probe = spawnSync('python3', ['-c', 'import numpy'], { stdio: 'ignore' });
  return probe.status === 0;
}

/** numpy's best time and GFLOP/s for negCLIPLoss with rows = batch, at `threads` OpenBLAS threads. */
export function numpyNegClip({ rows, dim, threads, runs = 3 }) {
  const env = { ...process.env, OPENBLAS_NUM_THREADS: String(threads), OMP_NUM_THREADS: String(threads) };
  // Machine-wide tuning overrides would mis-describe this CPU to OpenBLAS: unset for this command only.
  delete env.OPENBLAS_CORETYPE;
  delete env.OPENBLAS_L2_SIZE;
  const result = spawnSync('python3', [SCRIPT, String(rows), String(dim), String(runs)], { env, encoding: 'utf8' });
  if (result.status !== 0) return null;
  return JSON.parse(result.stdout.trim().split('\n').pop());
}
