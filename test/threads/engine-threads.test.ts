// The engine through its public API at 1 to 4 threads: bitwise identical outputs at every thread
// count, in Node and in Deno, the inline fallback where threads are impossible, relaxed SIMD
// within the baseline's error bounds, and calls issued at once. Runs the package's build (dist).
import { spawnSync } from 'node:child_process';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createEngine, mixSeed, permutation, type Engine } from 'clipsift';
import { digests, outOfBounds, referenceErrors, runWorkload, workloadInputs } from './fixtures/workload.js';

type Digests = Record<string, string>;

const DENO = fileURLToPath(new URL('../../node_modules/.bin/deno', import.meta.url));
const RUN_WORKLOAD = fileURLToPath(new URL('./fixtures/run-workload.js', import.meta.url));
const shuffle = (n: number, seed: number, repeat: number) => permutation(n, mixSeed(seed, repeat));

const inputs = workloadInputs();
/** Outputs of the one-thread engine (inline, private build): what every other setup must reproduce. */
let reference: Digests;

async function workloadDigests(
  options: Parameters<typeof createEngine>[0],
): Promise<{ info: ReturnType<Engine['info']>; digests: Digests }> {
  const engine = await createEngine(options);
  try {
    return { info: engine.info(), digests: await digests(await runWorkload(engine, inputs)) };
  } finally {
    await engine.close();
  }
}

type Report = { info: Record<string, unknown>; digests: Digests; errors?: Record<string, number> };

/** Runs the workload in another process (`command` plus its own arguments) and returns its report. */
function inProcess(command: string, commandArgs: string[], args: string[]): Report {
  const result = spawnSync(command, [...commandArgs, RUN_WORKLOAD, ...args], { encoding: 'utf8', timeout: 120_000 });
  if (result.status !== 0) throw new Error(`${command} failed (${result.status}): ${result.stderr}`);
  return JSON.parse(result.stdout);
}

const inDeno = (...args: string[]) => inProcess(DENO, ['run', '-A'], args);

beforeAll(async () => {
  const engine = await createEngine({ threads: 1, simd: 'baseline' });
  try {
    const outputs = await runWorkload(engine, inputs);
    // The reference itself must be right, or identity with it would prove little.
    expect(outOfBounds(referenceErrors(outputs, shuffle, inputs))).toEqual([]);
    reference = await digests(outputs);
  } finally {
    await engine.close();
  }
}, 120_000);

describe('results at any thread count', { timeout: 120_000 }, () => {
  it('are bitwise identical for threads = 1, 2, 3 and 4 in Node', async () => {
    for (const threads of [2, 3, 4]) {
      const run = await workloadDigests({ threads, simd: 'baseline' });
      expect(run.info).toMatchObject({ runtime: 'node', threads, shared: true, simd: 'baseline' });
      expect(run.digests).toEqual(reference);
    }
  });

  it('differ between batch sizes (so identity above is not the identity of constants)', () => {
    const negClip = Object.entries(reference)
      .filter(([name]) => name.startsWith('negClipLoss'))
      .map(([, digest]) => digest);
    expect(new Set(negClip).size).toBe(negClip.length);
  });

  it('are bitwise identical between Node and Deno for the baseline build, at 1 and 2 threads', () => {
    for (const threads of ['1', '2']) {
      const deno = inDeno('--threads', threads, '--simd', 'baseline');
      expect(deno.info).toMatchObject({
        runtime: 'deno',
        threads: Number(threads),
        simd: 'baseline',
        shared: threads !== '1',
      });
      expect(deno.digests).toEqual(reference);
    }
  });

  it('meet the baseline error bounds with relaxed SIMD (Deno), identically at 1 and 2 threads', () => {
    const two = inDeno('--threads', '2', '--simd', 'relaxed', '--errors');
    expect(two.info).toMatchObject({ runtime: 'deno', threads: 2, simd: 'relaxed', shared: true });
    expect(outOfBounds(two.errors!)).toEqual([]);
    expect(inDeno('--threads', '1', '--simd', 'relaxed').digests).toEqual(two.digests);
  });

  it("give precision 'i16' the same bits in the baseline and relaxed builds where no polynomial follows the exact GEMM", () => {
    // CLIPScore and NormSim_inf reduce the dequantised integer products with max and products only;
    // negCLIPLoss and NormSim_p go through exp/log, whose polynomials fuse in the relaxed build.
    const relaxed = inDeno('--threads', '2', '--simd', 'relaxed').digests;
    for (const name of ['i16 clipScore', 'i16 normSim p=Infinity target 300']) {
      expect(reference[name], name).toBeDefined();
      expect(relaxed[name], name).toBe(reference[name]);
    }
    expect(relaxed.clipScore).not.toBe(reference['i16 clipScore']);
  });

  it('run relaxed SIMD threaded in Node too when it is enabled by flag (the workers inherit the flag)', () => {
    const node = inProcess(
      process.execPath,
      ['--experimental-wasm-relaxed-simd'],
      ['--threads', '2', '--simd', 'relaxed', '--errors'],
    );
    expect(node.info).toMatchObject({ runtime: 'node', threads: 2, simd: 'relaxed', shared: true });
    expect(outOfBounds(node.errors!)).toEqual([]);
  });
});

describe('fallback to the calling thread', { timeout: 120_000 }, () => {
  it('runs inline with the same results where SharedArrayBuffer is missing', async () => {
    const saved = Object.getOwnPropertyDescriptor(globalThis, 'SharedArrayBuffer')!;
    Reflect.deleteProperty(globalThis, 'SharedArrayBuffer');
    try {
      const run = await workloadDigests({ threads: 4, simd: 'baseline' });
      expect(run.info).toMatchObject({ threads: 1, shared: false });
      expect(run.digests).toEqual(reference);
    } finally {
      Object.defineProperty(globalThis, 'SharedArrayBuffer', saved);
    }
  });

  it('runs inline in a page that is not cross-origin isolated', async () => {
    Object.defineProperty(globalThis, 'crossOriginIsolated', { value: false, configurable: true });
    try {
      const run = await workloadDigests({ threads: 'auto', simd: 'baseline' });
      expect(run.info).toMatchObject({ threads: 1, shared: false, crossOriginIsolated: false });
      expect(run.digests).toEqual(reference);
    } finally {
      Reflect.deleteProperty(globalThis, 'crossOriginIsolated');
    }
  });

  it('runs inline with the same results where Worker is missing (Deno without Worker, like an edge runtime)', () => {
    const deno = inDeno('--threads', '4', '--simd', 'baseline', '--no-worker');
    expect(deno.info).toMatchObject({ runtime: 'deno', threads: 1, shared: false });
    expect(deno.digests).toEqual(reference);
  });
});

describe('options and info', { timeout: 60_000 }, () => {
  it("threads: 'auto' uses os.availableParallelism()", async () => {
    const engine = await createEngine({ threads: 'auto' });
    try {
      expect(engine.info().threads).toBe(availableParallelism());
    } finally {
      await engine.close();
    }
  });

  it('Node 20 gets the baseline build by default and a clear error when relaxed is forced', async () => {
    // Node 20 validates relaxed SIMD only behind --experimental-wasm-relaxed-simd.
    const relaxedHere = WebAssembly.validate(
      new Uint8Array([
        0, 97, 115, 109, 1, 0, 0, 0, 1, 8, 1, 96, 3, 123, 123, 123, 1, 123, 3, 2, 1, 0, 10, 13, 1, 11, 0, 32, 0, 32, 1,
        32, 2, 253, 133, 2, 11,
      ]),
    );
    const engine = await createEngine({ threads: 1 });
    try {
      expect(engine.info().simd).toBe(relaxedHere ? 'relaxed' : 'baseline');
    } finally {
      await engine.close();
    }
    if (!relaxedHere)
      await expect(createEngine({ simd: 'relaxed' })).rejects.toThrow(/relaxed SIMD.*--experimental-wasm-relaxed-simd/);
  });

  it('rejects thread counts and variants that do not exist', async () => {
    for (const threads of [0, -1, 1.5, Number.NaN]) await expect(createEngine({ threads })).rejects.toThrow(RangeError);
    await expect(createEngine({ threads: 'many' as never })).rejects.toThrow(/threads/);
    await expect(createEngine({ simd: 'fast' as never })).rejects.toThrow(/simd/);
  });

  it('lets a Node program that never calls close() exit once its calls are done', () => {
    // Idle workers are unref'd: only pending work holds the process open.
    const index = new URL('../../dist/lib/index.js', import.meta.url).href;
    const program = `
      const { createEngine } = await import(${JSON.stringify(index)});
      const engine = await createEngine({ threads: 2 });
      const rows = 300, dim = 64;
      const data = Float32Array.from({ length: rows * dim }, (_, i) => Math.sin(i));
      const scores = await engine.clipScore({ data, rows, dim }, { data, rows, dim });
      console.log(engine.info().threads, scores.length);`;
    const result = spawnSync(process.execPath, ['--input-type=module', '-e', program], {
      encoding: 'utf8',
      timeout: 60_000,
    });
    expect(result.signal, 'the program had to be killed: its workers kept it alive').toBeNull();
    expect(result.status, result.stderr).toBe(0);
    expect(result.stdout.trim()).toBe('2 300');
  });

  it('closes: calls after close() reject', async () => {
    const engine = await createEngine({ threads: 2 });
    await engine.close();
    await expect(engine.clipScore(inputs.img, inputs.txt)).rejects.toThrow(/closed/);
  });
});

describe('calls issued at once on one engine', { timeout: 120_000 }, () => {
  let engine: Engine;
  afterAll(() => engine?.close());

  it('all give the results they give alone', async () => {
    engine = await createEngine({ threads: 2, simd: 'baseline' });
    const { img, txt, targets } = inputs;
    const [p3, p2] = [
      await engine.prepareTarget(targets.get(300)!, { p: 3 }),
      await engine.prepareTarget(targets.get(2500)!, { p: 2 }),
    ];
    const alone = {
      negClipLoss: await engine.negClipLoss(img, txt, { batchSize: 256, repeats: 2, seed: 7 }),
      normSim3: await engine.normSim(img, p3),
      normSim2: await engine.normSim(txt, p2),
      clipScore: await engine.clipScore(img, txt),
    };
    const [negClipLoss, normSim3, normSim2, clipScore] = await Promise.all([
      engine.negClipLoss(img, txt, { batchSize: 256, repeats: 2, seed: 7 }),
      engine.normSim(img, p3),
      engine.normSim(txt, p2),
      engine.clipScore(img, txt),
    ]);
    expect(await digests({ negClipLoss, normSim3, normSim2, clipScore })).toEqual(await digests(alone));
  });
});
