/**
 * clipsift inspect on PyTorch .pt and .safetensors targets, against the values torch wrote
 * (test/fixtures/torch, made once with make_torch_fixtures.py; expected/*.bin hold the elements).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { main } from '../../src/cli/main.js';
import { fromFloat16Bits } from '../../src/numeric/float16.js';
import { captureOutput } from './helpers.js';

const TORCH = fileURLToPath(new URL('../fixtures/torch/', import.meta.url));

/** Norms of the rows torch wrote (expected/<name>.bin: float16 bits, or float32). */
function norms(name: string, dim: number, half: boolean): number[] {
  const bytes = readFileSync(join(TORCH, 'expected', `${name}.bin`));
  const values = half
    ? Array.from(new Uint16Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 2), fromFloat16Bits)
    : Array.from(new Float32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 4));
  const out: number[] = [];
  for (let r = 0; r < values.length / dim; r++) out.push(Math.hypot(...values.slice(r * dim, (r + 1) * dim)));
  return out;
}

async function inspectJson(path: string) {
  const result = await captureOutput(() => main(['inspect', path, '--json', '--quiet']));
  return {
    ...result,
    reports: result.stdout
      .trim()
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l)),
  };
}

describe('clipsift inspect on torch and safetensors files', () => {
  it("describes a DataComp-style {'image_features': tensor} .pt: shape, dtype and the norms torch wrote", async () => {
    const { code, reports } = await inspectJson(join(TORCH, 'in1k_like.pt'));
    expect(code).toBe(0);
    const [report] = reports;
    expect(report.kind).toBe('pt');
    const array = report.arrays.find((a: { key: string }) => a.key === 'image_features');
    expect(array).toMatchObject({ rows: 6, dim: 16, dtype: 'float16' });
    const expected = norms('in1k_like.pt.image_features', 16, true);
    expect(array.stats.minNorm).toBeCloseTo(Math.min(...expected), 6);
    expect(array.stats.maxNorm).toBeCloseTo(Math.max(...expected), 6);
    expect(array.stats.nonFiniteRows).toBe(0);
    // The int64 labels tensor is not embeddings, and is said so.
    expect(report.skipped.map((s: { key: string }) => s.key)).toEqual(['labels']);
  });

  it('names float64 and bfloat16 tensors, reads a bare tensor without a key, and every tensor of a .safetensors', async () => {
    const f64 = (await inspectJson(join(TORCH, 'f64_3x5.pt'))).reports[0];
    expect(f64.arrays).toHaveLength(1);
    expect(f64.arrays[0]).toMatchObject({ key: '', rows: 3, dim: 5, dtype: 'float64' });
    expect(f64.arrays[0].stats.maxNorm).toBeCloseTo(Math.max(...norms('f64_3x5.pt', 5, false)), 6);
    expect((await inspectJson(join(TORCH, 'bf16_3x6.pt'))).reports[0].arrays[0].dtype).toBe('bfloat16');
    const st = (await inspectJson(join(TORCH, 'two.safetensors'))).reports[0];
    expect(st.kind).toBe('safetensors');
    expect(
      st.arrays.map((a: { key: string; rows: number; dim: number; dtype: string }) => [a.key, a.rows, a.dim, a.dtype]),
    ).toEqual([
      ['image_features', 4, 12, 'float32'],
      ['other', 3, 12, 'float16'],
    ]);
    const text = await captureOutput(() => main(['inspect', join(TORCH, 'f32_7x12.pt'), '--quiet']));
    expect(text.stdout).toMatch(/f32_7x12\.pt: pt, [\d,]+ bytes\n {2}7 × 12 float32, norms 1\.0000\.\.1\.0000/);
  });

  it('walks a folder of .pt files, and refuses a pickle that is not a tensor without running it', async () => {
    const folder = await inspectJson(join(TORCH, 'folder'));
    expect(folder.code).toBe(0);
    expect(folder.reports.map((r: { arrays: { rows: number }[] }) => r.arrays[0]!.rows)).toEqual([3, 2]);
    const hostile = await inspectJson(join(TORCH, 'hostile_os_system.pt'));
    expect(hostile.code).toBe(1);
    expect(hostile.stderr).toMatch(/hostile_os_system\.pt.*os.*system/);
  });
});
