/**
 * Issue 5 §1: `deno run -A score.ts score ...` does what `clipsift score` does under Node, down to the
 * bytes of the score files, for the same kernel variant (pinned with --simd, since Node 20 lacks
 * relaxed SIMD while Deno has it). Uses the deno binary from the npm `deno` package.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { BIN, ROOT, makeDataCompDir, runChild, tempDir, writeTarget } from './helpers.js';

const DENO = join(ROOT, 'node_modules/.bin/deno');

describe('deno run score.ts', () => {
  it('writes score files byte-identical to the Node CLI', async () => {
    const { dir } = makeDataCompDir([
      { name: 'd0', rows: 120, seed: 41 },
      { name: 'd1', rows: 90, seed: 42, compressed: true },
    ]);
    const target = join(tempDir(), 'target.npy');
    writeTarget(target, 30, 768, 43);
    const args = (out: string) => [
      'score',
      dir,
      '--out',
      out,
      '--target',
      target,
      '--batch-size',
      '50',
      '--repeats',
      '3',
      '--seed',
      '9',
      '--simd',
      'baseline',
      '--quiet',
    ];

    const nodeOut = join(tempDir(), 'node');
    const denoOut = join(tempDir(), 'deno');
    // Different thread counts on purpose: the files must not depend on them either.
    const viaNode = await runChild(process.execPath, [BIN, ...args(nodeOut), '--threads', '2']);
    const viaDeno = await runChild(DENO, ['run', '-A', join(ROOT, 'score.ts'), ...args(denoOut), '--threads', '1']);
    expect(viaNode.stderr).toBe('');
    expect(viaNode.code).toBe(0);
    expect(viaDeno.stderr).toBe('');
    expect(viaDeno.code).toBe(0);
    // The same but for the time taken and the runtime named in the summary.
    const summary = (text: string) => text.replace(/ in [^;]* \([^)]*\);/, '');
    expect(summary(viaDeno.stdout)).toBe(summary(viaNode.stdout).replace(nodeOut, denoOut));

    // Score files are byte-identical; the stats records name each writer's runtime, time and process.
    const names = readdirSync(nodeOut)
      .filter((n) => n.endsWith('.scores.parquet'))
      .sort();
    expect(names).toEqual(['d0.scores.parquet', 'd1.scores.parquet']);
    expect(
      readdirSync(denoOut)
        .filter((n) => n.endsWith('.scores.parquet'))
        .sort(),
    ).toEqual(names);
    expect(JSON.parse(readFileSync(join(denoOut, 'd0.stats.json'), 'utf8')).engine.runtime).toBe('deno');
    for (const name of names) {
      expect(readFileSync(join(denoOut, name)).equals(readFileSync(join(nodeOut, name))), name).toBe(true);
    }
  }, 120_000);

  it('reports errors the same way, with the same exit code', async () => {
    const missing = join(tempDir(), 'missing');
    const viaNode = await runChild(process.execPath, [BIN, 'score', missing, '--out', tempDir()]);
    const viaDeno = await runChild(DENO, ['run', '-A', join(ROOT, 'score.ts'), 'score', missing, '--out', tempDir()]);
    expect(viaNode.code).toBe(1);
    expect(viaDeno.code).toBe(1);
    expect(viaDeno.stderr).toBe(viaNode.stderr);
    const usage = await runChild(DENO, ['run', '-A', join(ROOT, 'score.ts'), 'score', '--bogus']);
    expect(usage.code).toBe(2);
    expect(usage.stderr).toMatch(/^clipsift score: .*--bogus/);
  }, 60_000);
});
