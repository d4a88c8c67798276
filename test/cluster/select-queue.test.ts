/**
 * clipsift select --queue: the threshold passes as jobs on two `clipsift worker` processes and a
 * redis-server of the test's own. The subset file and the printed summary match the local select byte
 * for byte on a pool of four score files with heavy ties at the thresholds; a score file whose column
 * cannot be read fails the select with the local select's one-line error, exit 1.
 */
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parquetMetadata } from 'hyparquet';
import { afterEach, describe, expect, it } from 'vitest';
import { parseSelectOptions } from '../../src/cli/select.js';
import { parseRedisUrl } from '../../src/cluster/queue.js';
import { openScoreQueue } from '../../src/cluster/submit.js';
import { scoreFilePasses } from '../../src/pipeline/score-passes.js';
import type { SelectionStep } from '../../src/select/steps.js';
import { streamSelect } from '../../src/select/streaming.js';
import { makeUids, tempDir, writeScoreFile } from '../select/cli-fixtures.js';
import { type Child, clipsift, killAll, sleep, TestRedis, waitFor } from './cluster-helpers.js';
import { rng } from '../cli/helpers.js';

afterEach(async () => {
  await killAll();
});

/** Four score files, scores mostly from a small palette (ties at any threshold, ±0), some uids repeated. */
function writePool(seed: number): string {
  const next = rng(seed);
  const dir = tempDir();
  const all = makeUids(1600, seed);
  const palette = [-0, 0, 1, -1, 0.5, 0.25, 2.5];
  const score = () => (next() < 0.8 ? palette[Math.floor(next() * palette.length)]! : next() * 4 - 2);
  for (let f = 0; f < 4; f++) {
    const uids = all.slice(f * 400, (f + 1) * 400 - 37 * f);
    if (f > 0) for (let i = 0; i < 20; i++) uids[i] = all[Math.floor(next() * f * 400)]!;
    writeScoreFile(join(dir, `0000000${f}.scores.parquet`), uids, {
      clip_score: Float32Array.from(uids, score),
      negclip_loss: Float32Array.from(uids, score),
      normsim_inf: Float32Array.from(uids, score),
    });
  }
  return dir;
}

async function ended(child: Child): Promise<{ code: number; stdout: string; stderr: string }> {
  const code = await child.exited;
  return { code, stdout: child.stdout(), stderr: child.stderr() };
}

describe('clipsift select --queue', { timeout: 180_000 }, () => {
  it('two workers run the passes; subset and summary are the local select’s, byte for byte', async () => {
    const dir = writePool(11);
    const redis = await TestRedis.start(tempDir());
    const team = Array.from({ length: 2 }, () => clipsift(['worker', '--queue', redis.url, '--threads', '1']));
    await waitFor('the workers to connect', () => team.every((w) => /waiting for shard jobs/.test(w.stderr())));
    const cases = [
      ['--top', 'negclip_loss:0.3', '--top', 'normsim_inf:0.2'],
      ['--min', 'clip_score:0', '--top', 'negclip_loss:0.5', '--min', 'normsim_inf:-0'],
      ['--rounding', 'datacomp', '--top', 'negclip_loss:0.3', '--top', 'normsim_inf:0.2'],
      ['--top', 'clip_score:1', '--top', 'negclip_loss:0'],
    ];
    for (const steps of cases) {
      const out = tempDir();
      const local = await ended(clipsift(['select', dir, ...steps, '--out', join(out, 'local.npy')]));
      expect(local.code, local.stderr).toBe(0);
      const queued = await ended(
        clipsift(['select', dir, ...steps, '--queue', redis.url, '--out', join(out, 'queued.npy')]),
      );
      expect(queued.code, queued.stderr).toBe(0);
      expect(queued.stdout.replaceAll('queued.npy', 'local.npy')).toBe(local.stdout);
      expect(readFileSync(join(out, 'queued.npy')).equals(readFileSync(join(out, 'local.npy')))).toBe(true);
    }
    // The ties at the first case's thresholds really were broken by uid (the tie-break pass ran).
    const files = readdirSync(dir)
      .sort()
      .map((name) => join(dir, name));
    const steps = parseSelectOptions([dir, ...cases[0]!, '--out', 'unused.npy']).steps as SelectionStep[];
    const passes: string[] = [];
    await streamSelect(scoreFilePasses(files, ['negclip_loss', 'normsim_inf']), steps, {
      onPass: (_, what) => passes.push(what),
    });
    expect(passes).toContain('top negclip_loss: tie-break by uid');
    expect(passes).toContain('top normsim_inf: tie-break by uid');
    const logs = team.map((w) => w.stderr()).join('\n');
    expect(logs).toMatch(/running select pass over .*00000003\.scores\.parquet/);
  });

  it('goes on through Redis killed and restarted without its data: the lost jobs are enqueued again', async () => {
    const dir = writePool(14);
    const steps = ['--top', 'negclip_loss:0.3', '--top', 'normsim_inf:0.2'];
    const out = tempDir();
    const local = await ended(clipsift(['select', dir, ...steps, '--out', join(out, 'local.npy')]));
    expect(local.code, local.stderr).toBe(0);
    const redis = await TestRedis.start(tempDir());
    // No worker yet: the first pass's four jobs wait in Redis while it goes away.
    const select = clipsift(['select', dir, ...steps, '--queue', redis.url, '--out', join(out, 'queued.npy')]);
    const queue = openScoreQueue(parseRedisUrl(redis.url));
    try {
      const until = Date.now() + 30_000;
      while ((await queue.getWaitingCount()) < 4) {
        if (Date.now() > until) throw new Error('timed out waiting for the first pass to be enqueued');
        await sleep(50);
      }
    } finally {
      await queue.close();
    }
    // status counts shard jobs: a select's passes are none of them.
    const status = await ended(clipsift(['status', '--queue', redis.url]));
    expect(status.code, status.stderr).toBe(0);
    expect(status.stdout).toMatch(/: 0\/0 shards done, 0 running, 0 waiting, 0 failed;/);
    await redis.kill();
    await sleep(1500);
    await redis.startAgain();
    clipsift(['worker', '--queue', redis.url, '--threads', '1']);
    const queued = await ended(select);
    expect(queued.code, queued.stderr).toBe(0);
    expect(queued.stdout.replaceAll('queued.npy', 'local.npy')).toBe(local.stdout);
    expect(readFileSync(join(out, 'queued.npy')).equals(readFileSync(join(out, 'local.npy')))).toBe(true);
  });

  it('a score file whose column cannot be read ends in the local one-line error, exit 1', async () => {
    const dir = writePool(12);
    // Break the negclip_loss page header of one file; its footer (all that the submitter reads) stays intact.
    const file = join(dir, '00000002.scores.parquet');
    const bytes = readFileSync(file);
    const meta = parquetMetadata(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.length));
    const chunk = meta.row_groups[0]!.columns.find((c) => c.meta_data!.path_in_schema.join('.') === 'negclip_loss')!;
    const at = Number(chunk.meta_data!.data_page_offset);
    bytes.fill(0xff, at, at + 16);
    writeFileSync(file, bytes);
    const steps = ['--top', 'negclip_loss:0.3'];
    const local = await ended(clipsift(['select', dir, ...steps, '--out', join(tempDir(), 'local.npy')]));
    expect(local.code).toBe(1);
    expect(local.stderr.trim().split('\n')).toHaveLength(1);

    const redis = await TestRedis.start(tempDir());
    const worker = clipsift(['worker', '--queue', redis.url, '--threads', '1']);
    await waitFor('the worker to connect', () => /waiting for shard jobs/.test(worker.stderr()));
    const out = join(tempDir(), 'queued.npy');
    const queued = await ended(clipsift(['select', dir, ...steps, '--queue', redis.url, '--out', out]));
    expect(queued.code).toBe(1);
    expect(queued.stderr).toBe(local.stderr);
    expect(queued.stderr).toMatch(/^clipsift select: /);
    // The failed pass job is kept a day for inspection, but it is no failed shard: status exits 0.
    const status = await ended(clipsift(['status', '--queue', redis.url]));
    expect(status.code, status.stdout).toBe(0);
    expect(status.stdout).toMatch(/: 0\/0 shards done, 0 running, 0 waiting, 0 failed;/);
  });

  it('refuses options that cannot stream with --queue, naming them', async () => {
    const dir = writePool(13);
    const given = join(tempDir(), 'given.npy');
    const refused = await ended(
      clipsift([
        'select',
        dir,
        '--top',
        'negclip_loss:0.3',
        '--given-uids',
        given,
        '--queue',
        'redis://127.0.0.1:1',
        '--out',
        join(tempDir(), 'x.npy'),
      ]),
    );
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(/--queue runs only --top\/--min steps .* it does not take --given-uids/);
  });
});
