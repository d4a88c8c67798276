// The same negCLIPLoss computed by numpy (float32 GEMM + stable log-sum-exps, bench/numpy-negclip.py),
// for the benches to print next to the engine's figures in the same run. Node only; null where
// python3 or numpy is missing.
import { spawn, spawnSync } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

const SCRIPT = fileURLToPath(new URL('./numpy-negclip.py', import.meta.url));

/** Whether `python3 -c 'import numpy'` works here. */
export function hasNumpy() {
  const probe = spawnSync('python3', ['-c', 'import numpy'], { stdio: 'ignore' });
  return probe.status === 0;
}

function numpyEnv(threads) {
  const env = { ...process.env, OPENBLAS_NUM_THREADS: String(threads), OMP_NUM_THREADS: String(threads) };
  // Machine-wide tuning overrides would mis-describe this CPU to OpenBLAS: unset for this command only.
  delete env.OPENBLAS_CORETYPE;
  delete env.OPENBLAS_L2_SIZE;
  return env;
}

/**
 * A numpy process that computes one negCLIPLoss (rows = batch) per `run()` and resolves with that call's
 * seconds, so a bench can interleave it with its own setups; `close()` ends it.
 */
export async function openNumpyNegClip({ rows, dim, threads }) {
  const child = spawn('python3', [SCRIPT, String(rows), String(dim), 'serve'], {
    env: numpyEnv(threads),
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
  const next = async () => {
    const { value, done } = await lines.next();
    if (done) throw new Error('bench/numpy-negclip.py ended early');
    return value;
  };
  if ((await next()) !== 'ready') throw new Error('bench/numpy-negclip.py did not start');
  return {
    async run() {
      child.stdin.write('\n');
      return Number(await next());
    },
    close() {
      child.stdin.end();
    },
  };
}

/** numpy's best time and GFLOP/s for negCLIPLoss with rows = batch, at `threads` OpenBLAS threads. */
export function numpyNegClip({ rows, dim, threads, runs = 3 }) {
  const env = numpyEnv(threads);
  const result = spawnSync('python3', [SCRIPT, String(rows), String(dim), String(runs)], { env, encoding: 'utf8' });
  if (result.status !== 0) return null;
  return JSON.parse(result.stdout.trim().split('\n').pop());
}
