// clipsift score --json and the stats beside the score files (<shard>.stats.json, _stats.json): checked
// against the files the run actually wrote and the rows planted in the fixture, through the CLI.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  BIN,
  makeDataCompDir,
  readScoreFile,
  runChild,
  runInProcess,
  tempDir,
  writeParquet,
  type ShardMatrices,
} from './helpers.js';
import type { ScoreReport } from '../../src/cli/score-report.js';
import type { RunStats, ShardStats } from '../../src/io/run-stats.js';

const DIM = 768;
const NAN = 0x7e00;

/** Plants a NaN in image row 3, an all-zero text row 11; row 20 repeats row 5's uid. */
function plant(m: ShardMatrices): void {
  m.l14_img[3 * DIM + 10] = NAN;
  m.l14_txt.fill(0, 11 * DIM, 12 * DIM);
}

function json(stdout: string): ScoreReport {
  return JSON.parse(stdout) as ScoreReport;
}

function readJson<T = ShardStats>(path: string): T {
  return JSON.parse(readFileSync(path, 'utf8')) as T;
}

describe('clipsift score --json and _stats.json', () => {
  it('reports every shard with rows, dropped rows by reason, seconds and the engine, matching the files', async () => {
    const { dir, shards } = makeDataCompDir([
      { name: 'a', rows: 30, seed: 1, edit: plant },
      { name: 'b', rows: 17, seed: 2 },
    ]);
    // A uid repeated within shard a: row 20 carries row 5's uid.
    const uids = [...shards[0]!.uids];
    uids[20] = uids[5]!;
    writeParquet(join(dir, 'a.parquet'), uids);

    const out = join(tempDir(), 'scores');
    const args = ['score', dir, '--out', out, '--threads', '1', '--simd', 'baseline', '--skip-invalid', '--json'];
    const result = await runInProcess([...args, '--quiet']);
    expect(result.code, result.stderr).toBe(0);
    const doc = json(result.stdout); // stdout is the document alone
    expect(doc.status).toBe('ok');
    expect(doc.exitCode).toBe(0);
    expect(doc.engine).toEqual({ runtime: 'node', threads: 1, simd: 'baseline', precision: 'f32' });

    const fileA = await readScoreFile(join(out, 'a.scores.parquet'));
    const fileB = await readScoreFile(join(out, 'b.scores.parquet'));
    expect(doc.shards.map((s) => [s.shard, s.status, s.rows, s.written])).toEqual([
      ['a', 'scored', 30, fileA.rows.length],
      ['b', 'scored', 17, fileB.rows.length],
    ]);
    expect(fileA.rows.length).toBe(27);
    const a = doc.shards[0];
    expect(a.droppedRows).toEqual([
      { row: 3, reason: 'non-finite' },
      { row: 11, reason: 'all-zero' },
      { row: 20, reason: 'duplicate' },
    ]);
    expect(a.dropped).toEqual({ 'non-finite': 1, 'all-zero': 1, 'overlarge-norm': 0, duplicate: 1 });
    // The rows left out are exactly those: the score file holds every other uid of the input, once.
    expect(new Set(fileA.rows.map((r) => r.uid))).toEqual(new Set(uids.filter((_, i) => i !== 3 && i !== 11)));
    expect(a.seconds).toBeGreaterThan(0);
    expect(doc.totals).toMatchObject({
      shards: 2,
      scored: 2,
      upToDate: 0,
      failed: 0,
      notRun: 0,
      rows: 47,
      written: 44,
    });
    expect(doc.stats).toBe(join(out, '_stats.json'));

    // One record per shard beside its score file, and the summary built from them.
    expect(readdirSync(out).sort()).toEqual([
      '_stats.json',
      'a.scores.parquet',
      'a.stats.json',
      'b.scores.parquet',
      'b.stats.json',
    ]);
    const recordA = readJson(join(out, 'a.stats.json'));
    expect(recordA).toMatchObject({
      shard: 'a',
      status: 'scored',
      scoreFile: 'a.scores.parquet',
      rows: 30,
      written: 27,
      dropped: a.dropped,
      droppedRows: a.droppedRows,
      engine: doc.engine,
      runShards: 2,
      pid: process.pid,
    });
    const summary = readJson<RunStats>(join(out, '_stats.json'));
    expect(summary).toMatchObject({
      runShards: 2,
      shards: { scored: 2, failed: 0, missing: 0 },
      rows: { input: 47, written: 44, dropped: 3 },
      dropped: a.dropped,
      unreadable: [],
    });
    expect(summary.records).toEqual([recordA, readJson(join(out, 'b.stats.json'))]);

    // A resumed run: both up to date, their counts taken from the files and records, the records kept.
    const again = await runInProcess([...args, '--quiet']);
    expect(again.code, again.stderr).toBe(0);
    const resumed = json(again.stdout);
    expect(resumed.shards.map((s) => [s.shard, s.status, s.written, s.seconds])).toEqual([
      ['a', 'up-to-date', 27, null],
      ['b', 'up-to-date', 17, null],
    ]);
    expect(resumed.shards[0].dropped).toEqual(a.dropped);
    expect(resumed.engine).toBeNull();
    expect(readJson(join(out, 'a.stats.json'))).toEqual(recordA);
    expect(readJson<RunStats>(join(out, '_stats.json')).records).toEqual(summary.records);
  });

  it('a shard with bad input: exit 1, the document names it failed and the shards after it not run', async () => {
    const { dir } = makeDataCompDir([
      { name: 's0', rows: 12, seed: 3 },
      { name: 's1', rows: 12, seed: 4, edit: plant },
      { name: 's2', rows: 12, seed: 5 },
    ]);
    const out = join(tempDir(), 'scores');
    const result = await runInProcess(['score', dir, '--out', out, '--threads', '1', '--json', '--quiet']);
    expect(result.code).toBe(1);
    // The one-line reason on stderr, as without --json.
    expect(result.stderr).toMatch(/^clipsift score: \S*s1\.npz:l14_img\.npy: 1 row holds NaN or Inf \(rows 3\)/);
    expect(result.stderr.trim().split('\n')).toHaveLength(1);
    const doc = json(result.stdout);
    expect(doc).toMatchObject({ status: 'failed', exitCode: 1 });
    expect(doc.error).toMatch(/s1\.npz:l14_img\.npy: 1 row holds NaN or Inf/);
    expect(doc.shards.map((s) => [s.shard, s.status])).toEqual([
      ['s0', 'scored'],
      ['s1', 'failed'],
      ['s2', 'not-run'],
    ]);
    expect(doc.shards[1].error).toBe(doc.error);
    expect(doc.totals).toMatchObject({ scored: 1, failed: 1, notRun: 1 });
    // What was finished is kept and recorded; the failure is recorded too.
    expect(readdirSync(out).sort()).toEqual(['_stats.json', 's0.scores.parquet', 's0.stats.json', 's1.stats.json']);
    expect(readJson(join(out, 's1.stats.json'))).toMatchObject({ status: 'failed', written: 0, error: doc.error });
    expect(readJson<RunStats>(join(out, '_stats.json'))).toMatchObject({
      runShards: 3,
      shards: { scored: 1, failed: 1, missing: 1 },
      rows: { input: 12, written: 12, dropped: 0 },
    });
  });

  it('bad input before any shard: exit 1 with a document; a usage error: exit 2 and nothing on stdout', async () => {
    const missing = join(tempDir(), 'nowhere');
    const bad = await runInProcess(['score', missing, '--out', join(tempDir(), 'o'), '--json']);
    expect(bad.code).toBe(1);
    expect(json(bad.stdout)).toMatchObject({ status: 'failed', exitCode: 1, shards: [] });
    expect(json(bad.stdout).error).toContain('nowhere');
    const usage = await runInProcess(['score', missing, '--out', 'o', '--json', '--queue', 'redis://x:1', '--detach']);
    expect(usage.code).toBe(2);
    expect(usage.stdout).toBe('');
    expect(usage.stderr).toMatch(/--json reports a finished run; with --detach nothing has run yet/);
  });

  it('two --shard parts writing into one directory at once: the summary holds both parts, nothing lost', async () => {
    const { dir } = makeDataCompDir([
      { name: 'p0', rows: 10, seed: 6 },
      { name: 'p1', rows: 11, seed: 7 },
      { name: 'p2', rows: 12, seed: 8 },
      { name: 'p3', rows: 13, seed: 9 },
    ]);
    const out = join(tempDir(), 'scores');
    const part = (i: number) =>
      runChild(process.execPath, [BIN, 'score', dir, '--out', out, '--threads', '1', '--shard', `${i}/2`, '--json']);
    const [first, second] = await Promise.all([part(0), part(1)]);
    expect(first.code, first.stderr).toBe(0);
    expect(second.code, second.stderr).toBe(0);
    const docs = [json(first.stdout), json(second.stdout)];
    expect(docs.map((d) => d.part)).toEqual([
      { index: 0, count: 2 },
      { index: 1, count: 2 },
    ]);
    const byPart = docs.map((d) => d.shards.map((s) => s.shard));
    expect([...byPart[0], ...byPart[1]].sort()).toEqual(['p0', 'p1', 'p2', 'p3']);
    const summary = readJson<RunStats>(join(out, '_stats.json'));
    expect(summary.records.map((r) => r.shard)).toEqual(['p0', 'p1', 'p2', 'p3']);
    expect(summary).toMatchObject({ runShards: 4, shards: { scored: 4, failed: 0, missing: 0 } });
    expect(summary.rows).toEqual({ input: 46, written: 46, dropped: 0 });
    // Each record was written by the part that scored it.
    const pids = new Set(summary.records.map((r) => r.pid));
    expect(pids.size).toBe(2);
  });
});
