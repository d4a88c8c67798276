# negCLIPLoss of one batch as a native CPU stack computes it: numpy's float32 GEMM (OpenBLAS) for the
# similarity matrix, then stable row and column log-sum-exps, in float32. For bench/numpy.js.
# Usage: python3 bench/numpy-negclip.py ROWS DIM RUNS [gemm]   (threads: OPENBLAS_NUM_THREADS)
# Prints JSON: best seconds per call and GFLOP/s counting 2·rows·rows·dim.
# With RUNS = serve it answers each line read on stdin with one call's seconds instead, so a bench can
# interleave numpy's calls with its own in one run. With `gemm` it times the float32 GEMM alone.
import json
import sys
import time

import numpy as np

rows, dim = int(sys.argv[1]), int(sys.argv[2])
serve = sys.argv[3] == 'serve'
runs = 0 if serve else int(sys.argv[3])
gemm_only = len(sys.argv) > 4 and sys.argv[4] == 'gemm'
tau = np.float32(0.01)
rng = np.random.default_rng(0)


def unit_rows(n):
    x = rng.standard_normal((n, dim), dtype=np.float32)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


img, txt = unit_rows(rows), unit_rows(rows)


def lse(logits, axis):
    m = logits.max(axis=axis, keepdims=True)
    return (m + np.log(np.exp(logits - m).sum(axis=axis, keepdims=True))).squeeze(axis)


def negclip():
    s = img @ txt.T
    if gemm_only:
        return s
    logits = s / tau
    return np.diagonal(s) - tau / 2 * (lse(logits, 1) + lse(logits, 0))


negclip()  # warm-up
if serve:
    print('ready', flush=True)
    for _ in sys.stdin:
        start = time.perf_counter()
        negclip()
        print(time.perf_counter() - start, flush=True)
    sys.exit(0)
best = float('inf')
for _ in range(runs):
    start = time.perf_counter()
    negclip()
    best = min(best, time.perf_counter() - start)
print(json.dumps({'seconds': best, 'gflops': 2 * rows * rows * dim / best / 1e9}))
