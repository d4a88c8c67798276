// The same negCLIPLoss computed by numpy (float32 GEMM + stable log-sum-exps, bench/numpy-negclip.py),
// for the benches to print next to the engine's figures in the same run, interleaved with them. Node
// only; nothing where python3 or numpy is missing.
//
// OpenBLAS picks its kernels from OPENBLAS_CORETYPE when set, else from the CPU it detects. This
// machine's environment sets OPENBLAS_CORETYPE=Haswell (AVX2, 256-bit FMAs), while the CPU would get
// OpenBLAS's AVX-512 kernels: the benches time both where they differ, and name each.
import { spawn, spawnSync } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

const SCRIPT = fileURLToPath(new URL('./numpy-negclip.py', import.meta.url));

/** Whether `python3 -c 'import numpy'` works here. */
export function hasNumpy() {
  const probe = spawnSync('python3', ['-c', 'import numpy'], { stdio: 'ignore' });
  return probe.status === 0;
}

/**
 * The numpy setups to time: OpenBLAS on the CPU it detects, and, when the environment sets
 * OPENBLAS_CORETYPE, OpenBLAS as that environment configures it. Each has a label and an env override.
 */
export function numpySetups() {
  const setups = [{ label: 'numpy (OpenBLAS, CPU detected)', coretype: undefined }];
  const configured = process.env.OPENBLAS_CORETYPE;
  if (configured) setups.push({ label: `numpy (OPENBLAS_CORETYPE=${configured} as set here)`, coretype: configured });
  return setups;
}

function numpyEnv(threads, coretype) {
  const env = { ...process.env, OPENBLAS_NUM_THREADS: String(threads), OMP_NUM_THREADS: String(threads) };
  // Machine-wide overrides apply only to the setup that asks for them.
  delete env.OPENBLAS_CORETYPE;
  delete env.OPENBLAS_L2_SIZE;
  if (coretype) {
    env.OPENBLAS_CORETYPE = coretype;
    if (process.env.OPENBLAS_L2_SIZE) env.OPENBLAS_L2_SIZE = process.env.OPENBLAS_L2_SIZE;
  }
  return env;
}

/**
 * A numpy process that computes one negCLIPLoss (rows = batch) per `run()` and resolves with that call's
 * seconds (timed inside python), so a bench can interleave it with its own setups; `close()` ends it.
 * `coretype`: a setup's from numpySetups(). `op: 'gemm'` times the float32 GEMM alone instead.
 */
export async function openNumpyNegClip({ rows, dim, threads, coretype, op = 'negclip' }) {
  const child = spawn('python3', [SCRIPT, String(rows), String(dim), 'serve', ...(op === 'gemm' ? ['gemm'] : [])], {
    env: numpyEnv(threads, coretype),
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

/** Opens one numpy process per setup of numpySetups() (none without numpy), for openNumpyNegClip's shape and op. */
export async function openNumpySetups({ rows, dim, threads, op }) {
  if (!hasNumpy()) return [];
  const opened = [];
  for (const setup of numpySetups()) {
    opened.push({ ...setup, np: await openNumpyNegClip({ rows, dim, threads, coretype: setup.coretype, op }) });
  }
  return opened;
}
