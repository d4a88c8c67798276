/**
 * clipsift score with targets as users have them: torch.save'd .pt files (a dict with
 * image_features, a folder of .pt files of mixed dtypes), several --target concatenated, and a
 * hostile .pt refused. The NormSim columns are checked against a float64 reference over the
 * target rows torch wrote (test/fixtures/torch/expected, made by make_torch_fixtures.py).
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { fromFloat16Bits } from '../../src/numeric/float16.js';
import {
  makeDataCompDir,
  readScoreFile,
  referenceNormSim,
  runInProcess,
  tempDir,
  widen,
  worstError,
} from './helpers.js';
import { concatArrays } from '../io/helpers.js';

const TORCH = fileURLToPath(new URL('../fixtures/torch/', import.meta.url));

function expectedRows(name: string, half: boolean): Float64Array {
  const bytes = readFileSync(`${TORCH}expected/${name}.bin`);
  const buffer = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength);
  return half
    ? Float64Array.from(new Uint16Array(buffer), fromFloat16Bits)
    : Float64Array.from(new Float32Array(buffer));
}

describe('clipsift score --target with .pt files, folders and repeats', () => {
  it('concatenates every --target (a .pt dict by key, a folder of .pt files) and scores NormSim over all rows', async () => {
    const { dir, shards } = makeDataCompDir([{ name: 's', rows: 40, seed: 71 }]);
    const out = join(tempDir(), 'scores');
    const result = await runInProcess([
      'score',
      dir,
      '--arch',
      'b32',
      '--out',
      out,
      '--target',
      join(TORCH, 'in1k_b32.pt'),
      '--target-key',
      'image_features',
      '--target',
      join(TORCH, 'folder_b32'),
      '--threads',
      '1',
      '--quiet',
    ]);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    const target = concatArrays(Float64Array, [
      expectedRows('in1k_b32.pt', true),
      expectedRows('folder_b32.part_0', false),
      expectedRows('folder_b32.part_1', true),
    ]);
    expect(target.length).toBe(10 * 512);
    const file = await readScoreFile(join(out, 's.scores.parquet'));
    const img = widen(shards[0]!.matrices.b32_img);
    const normsim = file.rows.map((r) => r.normsim_inf);
    expect(worstError(normsim, referenceNormSim(img, target, 512, Infinity))).toBeLessThanOrEqual(2e-6);
    // Against the first target alone the scores differ: the second --target is not dropped.
    const firstOnly = referenceNormSim(img, expectedRows('in1k_b32.pt', true), 512, Infinity);
    expect(worstError(normsim, firstOnly)).toBeGreaterThan(1e-3);
    const parameters = JSON.parse(file.metadata['clipsift.parameters']!);
    expect(parameters.target).toMatchObject({
      name: 'in1k_b32.pt + part_0.pt + part_1.pt',
      key: 'image_features',
      rows: 10,
      dim: 512,
    });
  });

  it('refuses a .pt whose pickle calls os.system, naming the file, and writes nothing', async () => {
    const { dir } = makeDataCompDir([{ name: 's', rows: 10, seed: 72 }]);
    const out = join(tempDir(), 'scores');
    const result = await runInProcess([
      'score',
      dir,
      '--out',
      out,
      '--target',
      join(TORCH, 'hostile_os_system.pt'),
      '--quiet',
    ]);
    expect(result.code).not.toBe(0);
    expect(result.stderr).toMatch(/hostile_os_system\.pt.*refusing to load.*system/);
    expect(result.stderr.trim().split('\n')).toHaveLength(1);
    expect(existsSync(join(out, 's.scores.parquet'))).toBe(false);
  });
});
