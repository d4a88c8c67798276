// The engine's calling contract: AbortSignal, inputs read when a call runs, targets kept by reference,
// a string `module` resolved against the caller, and the default worker created the way bundlers see it.
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createEngine, type Embeddings, type Engine } from 'clipsift';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { randomRows } from './reference.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
let engine: Engine;
beforeAll(async () => {
  engine = await createEngine({ threads: 1, simd: 'baseline' });
});
afterAll(async () => {
  await engine.close();
});

const rows = (n: number, dim: number, seed: number): Embeddings => ({ data: randomRows(n, dim, seed), rows: n, dim });

function sameBits(a: Float32Array, b: Float32Array): boolean {
  return (
    a.length === b.length &&
    Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(b.buffer, b.byteOffset, b.byteLength))
  );
}

describe('AbortSignal', () => {
  const img = rows(2048, 32, 1);
  const txt = rows(2048, 32, 2);
  const options = { batchSize: 256, repeats: 2, seed: 5 };

  it('stops negCLIPLoss between batches with the AbortError, and the engine stays usable', async () => {
    const expected = await engine.negClipLoss(img, txt, options);
    const controller = new AbortController();
    let batches = 0;
    const aborted = engine.negClipLoss(img, txt, {
      ...options,
      signal: controller.signal,
      onProgress: () => {
        batches++;
        controller.abort();
      },
    });
    await expect(aborted).rejects.toMatchObject({ name: 'AbortError' });
    expect(batches).toBe(1); // 16 batches without the abort
    // The same call afterwards gives the same bits as before: nothing was left half done.
    expect(sameBits(await engine.negClipLoss(img, txt, options), expected)).toBe(true);
  });

  it('rejects at once, running nothing, when the signal is already aborted; the reason is passed on', async () => {
    let progressed = false;
    const reason = new Error('user pressed stop');
    const signal = AbortSignal.abort(reason);
    await expect(
      engine.normSim(img, await engine.prepareTarget(txt), { signal, onProgress: () => (progressed = true) }),
    ).rejects.toBe(reason);
    await expect(engine.clipScore(img, txt, { signal })).rejects.toBe(reason);
    await expect(engine.gramMatrix(txt, { signal })).rejects.toBe(reason);
    expect(progressed).toBe(false);
    expect((await engine.clipScore(img, txt)).length).toBe(2048);
  });
});

describe('inputs are read when the call runs', () => {
  it('a queued call whose input buffer was transferred away fails instead of scoring stale memory', async () => {
    const a = rows(512, 32, 3);
    const b = rows(512, 32, 4);
    const long = engine.negClipLoss(rows(2048, 32, 5), rows(2048, 32, 6), { batchSize: 256, repeats: 2 });
    const queued = engine.clipScore(a, b); // checked now, run after `long`
    structuredClone(a.data.buffer, { transfer: [a.data.buffer as ArrayBuffer] }); // detaches a.data
    await long;
    await expect(queued).rejects.toThrow(/input array changed after the call was made/);
  });
});

describe('targets', () => {
  it('keeps the rows of a p = ∞ target by reference (held once, not copied)', async () => {
    const t = rows(300, 32, 7);
    const x = rows(50, 32, 8);
    const target = await engine.prepareTarget(t, { p: Infinity });
    const before = await engine.normSim(x, target);
    for (let i = 0; i < t.data.length; i++) t.data[i] = t.data[i]! * 2; // exact in float32
    const after = await engine.normSim(x, target);
    expect(
      sameBits(
        after,
        before.map((v) => v * 2),
      ),
    ).toBe(true);
  });
});

describe('module and worker sources', () => {
  it("resolves a relative `module` string against the caller's directory, not the engine's files", () => {
    const dir = mkdtempSync(join(tmpdir(), 'clipsift-module-'));
    try {
      copyFileSync(join(ROOT, 'dist/wasm/clipsift.baseline.wasm'), join(dir, 'kernels.wasm'));
      const script = `
        const { createEngine } = await import(${JSON.stringify(join(ROOT, 'dist/lib/index.js'))});
        const engine = await createEngine({ threads: 1, simd: 'baseline', module: 'kernels.wasm' });
        const e = { data: new Float32Array([0.6, 0.8]), rows: 1, dim: 2 };
        console.log(Array.from(await engine.clipScore(e, e)).join());
        await engine.close();`;
      const result = spawnSync(process.execPath, ['--input-type=module', '-e', script], { cwd: dir, encoding: 'utf8' });
      expect(result.stderr).toBe('');
      expect(Number(result.stdout.trim())).toBeCloseTo(1, 6);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('creates the default worker with the literal new URL(…, import.meta.url) bundlers recognise', () => {
    const runtime = readFileSync(join(ROOT, 'dist/lib/engine/runtime.js'), 'utf8');
    expect(runtime).toContain("new Worker(new URL('./worker.js', import.meta.url), { type: 'module' })");
    expect(runtime).toContain("new Worker(new URL('./worker.js', import.meta.url), options)");
  });
});
