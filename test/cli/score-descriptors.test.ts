// A pool of any number of shards scores under a low descriptor limit: each shard's files are closed as soon as
// its headers are read and again as soon as it is scored, instead of all at the end of the run.
import { mkdirSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { BIN, readScoreFile, runChild, tempDir, writeDataCompShard } from './helpers.js';

const SHARDS = 300;

describe('clipsift score and file descriptors', () => {
  it(`scores ${SHARDS} shards under ulimit -n 256`, async () => {
    const dir = join(tempDir('clipsift-fds-'), 'pool');
    mkdirSync(dir);
    for (let i = 0; i < SHARDS; i++)
      writeDataCompShard(dir, { name: String(i).padStart(8, '0'), rows: 2, seed: 1000 + i, l14Only: true });
    const out = join(tempDir('clipsift-fds-out-'), 'scores');
    const script = `ulimit -n 256 && exec "${process.execPath}" "${BIN}" score "${dir}" --out "${out}" --threads 1 --quiet`;
    const result = await runChild('bash', ['-c', script]);
    expect(result.stderr).not.toMatch(/EMFILE|too many open files/i);
    expect(result.code, result.stderr).toBe(0);
    const files = readdirSync(out).filter((f) => f.endsWith('.scores.parquet'));
    expect(files).toHaveLength(SHARDS);
    // Every file is whole: two rows each, with their scores.
    const last = await readScoreFile(join(out, files[files.length - 1]!));
    expect(last.rows).toHaveLength(2);
  });
});
