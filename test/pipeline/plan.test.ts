// A resumed run's plan keeps the footers of its first KEPT_FOOTERS finished score files only (each
// ~10 KiB: a resumed DataComp-large pool would hold ~1.3 GB); finishedScoreFile reads any other's
// footer again, and gives the same file as a kept footer would.
import { join } from 'node:path';
import { rmSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { openExistingFile } from '../../src/io/node-files.js';
import { openScoreFile } from '../../src/io/score-file.js';
import { finishedScoreFile, type PlannedShard } from '../../src/pipeline/plan.js';
import { runInProcess, tempDir, writeDataCompShard } from '../cli/helpers.js';

describe('finishedScoreFile', () => {
  it("reads a finished file's footer again when the plan did not keep it, and names a file gone since", async () => {
    const dir = tempDir();
    const out = join(dir, 'scores');
    writeDataCompShard(dir, { name: 'a', rows: 50, seed: 3 });
    const run = await runInProcess(['score', join(dir, 'a.parquet'), '--out', out, '--quiet']);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    const outPath = join(out, 'a.scores.parquet');
    const source = (await openExistingFile(outPath))!;
    const kept = await openScoreFile(source);
    const planned = (existing: PlannedShard['existing']) => ({ outPath, done: true, existing }) as PlannedShard;

    const reread = await finishedScoreFile(planned({ rows: kept.rows }));
    try {
      expect(reread.file.rows).toBe(50);
      expect(reread.file.parameters).toBe(kept.parameters);
      expect(await reread.file.readKeys()).toEqual(await kept.readKeys());
    } finally {
      await reread.source.close();
    }
    // A kept footer is used as it is.
    const same = await finishedScoreFile(planned({ rows: kept.rows, file: kept, source }));
    expect(same.file).toBe(kept);
    await source.close();

    rmSync(outPath);
    await expect(finishedScoreFile(planned({ rows: 50 }))).rejects.toThrow(
      `${outPath}: was removed while the run was using it`,
    );
  });
});
