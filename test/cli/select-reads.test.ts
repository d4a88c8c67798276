/**
 * What `select` reads to find its score files: each input directory is listed once and each score file's
 * footer is read once, however many checks and passes use it (the uid probe, the run-parameter check, the
 * columns on offer, the in-memory read or every pass of the streaming select). Counted on the local disk
 * by an instrumented node:fs/promises (every readdir, every read of a file handle) and, for URLs, in the
 * request log of a Range server: a footer read is a read that reaches the file's last byte (parquet's
 * trailing magic, which no column chunk holds).
 */
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { parseSelectOptions, runSelect } from '../../src/cli/select.js';
import { scoreFileCache, withScoreFile } from '../../src/pipeline/score-passes.js';
import { writeParquetTable } from '../../src/io/parquet.js';
import { startRangeServer, type RangeServer } from '../io/servers.js';
import { makeUids, tempDir, writeDataCompShard, writeScoreFile } from '../select/cli-fixtures.js';
import { encodeNpy } from '../../src/io/npy.js';
import { toFloat16Bits } from '../../src/numeric/float16.js';
import { ROOT, rng } from './helpers.js';

const seen = vi.hoisted(() => ({
  lists: [] as string[],
  reads: [] as { path: string; position: number; length: number }[],
}));

vi.mock('node:fs/promises', async (importOriginal) => {
  const actual = await importOriginal<typeof import('node:fs/promises')>();
  const readdir = (async (path: string, ...rest: unknown[]) => {
    seen.lists.push(String(path));
    return (actual.readdir as (...args: unknown[]) => Promise<unknown>)(path, ...rest);
  }) as typeof actual.readdir;
  const open = (async (path: string, ...rest: unknown[]) => {
    const handle = await (actual.open as (...args: unknown[]) => Promise<import('node:fs/promises').FileHandle>)(
      path,
      ...rest,
    );
    return new Proxy(handle, {
      get(target, key) {
        if (key === 'read')
          return (buffer: Uint8Array, offset: number, length: number, position: number) => {
            seen.reads.push({ path: String(path), position, length });
            return target.read(buffer, offset, length, position);
          };
        const value = Reflect.get(target, key, target);
        return typeof value === 'function' ? value.bind(target) : value;
      },
    });
  }) as typeof actual.open;
  return { ...actual, default: { ...actual, readdir, open }, readdir, open };
});

/** Three score files with uids (repeated uids and ties, as select meets them) in one directory. */
function uidDirectory(seed: number, columns: string[]): string {
  const next = rng(seed);
  const dir = tempDir();
  const all = makeUids(600, seed);
  for (let f = 0; f < 3; f++) {
    const uids = all.slice(f * 200, (f + 1) * 200);
    const scores: Record<string, Float32Array> = {};
    for (const column of columns) scores[column] = Float32Array.from(uids, () => Math.round(next() * 40) / 8);
    writeScoreFile(join(dir, `0000000${f}.scores.parquet`), uids, scores);
  }
  return dir;
}

function resetCounts(): void {
  seen.lists.length = 0;
  seen.reads.length = 0;
}

/** The listings of the input directories `dirs` (the output's directory is listed too, for stale temporaries). */
function listsOf(dirs: string[]): string[] {
  return seen.lists.filter((path) => dirs.includes(path));
}

/** Per score file under `dirs`: how many reads reached its last byte. */
function footerReads(files: string[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const file of files) {
    const last = statSync(file).size - 1;
    counts[file] = seen.reads.filter(
      (r) => r.path === file && r.position <= last && r.position + r.length > last,
    ).length;
  }
  return counts;
}

const scoreFilesOf = (dir: string) => [0, 1, 2].map((f) => join(dir, `0000000${f}.scores.parquet`));
const once = (files: string[]) => Object.fromEntries(files.map((f) => [f, 1]));

describe('select reads each input listing and each score footer once', () => {
  it('streaming, in memory, with --given-uids, and with --join', async () => {
    const dir = uidDirectory(5, ['negclip_loss', 'normsim_inf']);
    const out = tempDir();
    const given = join(out, 'given.npy');
    await runSelect(parseSelectOptions([dir, '--top', 'normsim_inf:0.6', '--out', given, '--json']));
    const cases: [string, string[], { inMemory?: boolean }][] = [
      ['streaming', [dir, '--top', 'negclip_loss:0.3', '--top', 'normsim_inf:0.2'], {}],
      ['in memory', [dir, '--top', 'negclip_loss:0.3', '--top', 'normsim_inf:0.2'], { inMemory: true }],
      ['min and top', [dir, '--min', 'negclip_loss:1', '--top', 'normsim_inf:0.5'], {}],
      ['given uids', [dir, '--given-uids', given, '--top', 'negclip_loss:0.3'], {}],
      ['given uids in memory', [dir, '--given-uids', given, '--top', 'negclip_loss:0.3'], { inMemory: true }],
    ];
    for (const [name, argv, extra] of cases) {
      resetCounts();
      await runSelect({ ...parseSelectOptions([...argv, '--out', join(out, `${name}.npy`), '--json']), ...extra });
      expect({ name, lists: listsOf([dir]), footers: footerReads(scoreFilesOf(dir)) }).toEqual({
        name,
        lists: [dir],
        footers: once(scoreFilesOf(dir)),
      });
    }

    // --join: two runs over the same uids with different columns, each listed and read once.
    const other = tempDir();
    const next = rng(6);
    for (let f = 0; f < 3; f++) {
      const uids = makeUids(600, 5).slice(f * 200, (f + 1) * 200);
      writeScoreFile(join(other, `0000000${f}.scores.parquet`), uids, {
        clip_score: Float32Array.from(uids, () => Math.round(next() * 40) / 8),
      });
    }
    resetCounts();
    await runSelect(
      parseSelectOptions([
        dir,
        other,
        '--join',
        '--top',
        'clip_score:0.5',
        '--top',
        'negclip_loss:0.2',
        '--out',
        join(out, 'joined.npy'),
        '--json',
      ]),
    );
    const both = [...scoreFilesOf(dir), ...scoreFilesOf(other)];
    expect({ lists: listsOf([dir, other]), footers: footerReads(both) }).toEqual({
      lists: [dir, other],
      footers: once(both),
    });
  });

  it('on score files without uids (keys written instead)', async () => {
    const dir = tempDir();
    for (let f = 0; f < 3; f++) {
      const keys = Array.from({ length: 50 }, (_, i) => `part${f}/${String(i).padStart(3, '0')}`);
      writeFileSync(
        join(dir, `0000000${f}.scores.parquet`),
        writeParquetTable({ columns: { key: keys, clip_score: Float32Array.from(keys, (_, i) => (i * 7) % 11) } }),
      );
    }
    resetCounts();
    const summary = await runSelect(
      parseSelectOptions([dir, '--top', 'clip_score:0.3', '--out', join(tempDir(), 'kept.txt'), '--json']),
    );
    expect(summary.keys?.kept).toBe(45);
    expect({ lists: listsOf([dir]), footers: footerReads(scoreFilesOf(dir)) }).toEqual({
      lists: [dir],
      footers: once(scoreFilesOf(dir)),
    });
  });

  describe('over http(s)', () => {
    let server: RangeServer;
    const dir = uidDirectory(9, ['negclip_loss', 'normsim_inf']);
    const sizes = new Map(scoreFilesOf(dir).map((file, f) => [`/s/${f}.scores.parquet`, statSync(file).size]));
    beforeAll(async () => {
      server = await startRangeServer(
        Object.fromEntries(scoreFilesOf(dir).map((file, f) => [`/s/${f}.scores.parquet`, readFileSync(file)])),
      );
    });
    afterAll(() => server.close());

    it('asks each score file for its size and its footer once, in every path', async () => {
      const urls = [...sizes.keys()].map((path) => `${server.url}${path}`);
      for (const inMemory of [false, true]) {
        server.log.length = 0;
        const argv = [...urls, '--top', 'negclip_loss:0.3', '--top', 'normsim_inf:0.2'];
        await runSelect({
          ...parseSelectOptions([...argv, '--out', join(tempDir(), 'subset.npy'), '--json']),
          inMemory,
        });
        const perFile: Record<string, { heads: number; footers: number }> = {};
        for (const [path, size] of sizes) {
          const requests = server.log.filter((r) => r.path === path);
          perFile[path] = {
            heads: requests.filter((r) => r.method === 'HEAD').length,
            footers: requests.filter(
              (r) => r.method === 'GET' && Number(/-(\d+)$/.exec(r.range ?? '')?.[1]) >= size - 1,
            ).length,
          };
        }
        const expected = Object.fromEntries([...sizes.keys()].map((path) => [path, { heads: 1, footers: 1 }]));
        expect({ inMemory, perFile }).toEqual({ inMemory, perFile: expected });
      }
    });
  });
});

describe('select reads the image embeddings directory once for --image-based and --normsim-d together', () => {
  it('lists it once and reads each shard footer (metadata parquet and npz) once', async () => {
    const dim = 512; // b32
    const scores = tempDir();
    const metadata = tempDir();
    const next = rng(21);
    const all = makeUids(120, 21);
    for (let f = 0; f < 2; f++) {
      const uids = all.slice(f * 60, (f + 1) * 60);
      const images = Uint16Array.from({ length: uids.length * dim }, () => toFloat16Bits(next() - 0.5));
      writeDataCompShard(metadata, `0000000${f}`, uids, images, images, dim);
      writeScoreFile(join(scores, `0000000${f}.scores.parquet`), uids, {
        negclip_loss: Float32Array.from(uids, () => Math.round(next() * 40) / 8),
      });
    }
    const target = join(tempDir(), 'target.npy');
    writeFileSync(
      target,
      encodeNpy(
        Float32Array.from({ length: 3 * dim }, () => next() - 0.5),
        [3, dim],
      ),
    );
    const shardFiles = [0, 1].flatMap((f) => ['parquet', 'npz'].map((ext) => join(metadata, `0000000${f}.${ext}`)));
    // The steps run the engine, whose kernels the build holds: this select is the built one (dist/lib).
    const built = (await import(join(ROOT, 'dist/lib/cli/select.js'))) as typeof import('../../src/cli/select.js');
    resetCounts();
    const summary = await built.runSelect(
      built.parseSelectOptions([
        scores,
        '--top',
        'negclip_loss:0.8',
        '--image-based',
        '--image-based-target',
        target,
        '--image-based-clusters',
        '4',
        '--image-based-iterations',
        '3',
        '--normsim-d',
        '--normsim-d-final',
        '0.2',
        '--normsim-d-iterations',
        '3',
        '--embeddings',
        metadata,
        '--arch',
        'b32',
        '--threads',
        '1',
        '--out',
        join(tempDir(), 'subset.npy'),
        '--json',
      ]),
    );
    expect(summary.steps.map((s) => s.kind)).toEqual(['top', 'image-based', 'normsim-d']);
    expect({ lists: listsOf([metadata]), footers: footerReads(shardFiles) }).toEqual({
      lists: [metadata],
      footers: once(shardFiles),
    });
  });
});

describe('scoreFileCache', () => {
  it('keeps the first `limit` files opened; the files past them are opened again at every use', async () => {
    const dir = uidDirectory(11, ['clip_score']);
    const [a, b, c] = scoreFilesOf(dir) as [string, string, string];
    const open = scoreFileCache(2);
    resetCounts();
    for (let pass = 0; pass < 3; pass++) {
      for (const file of [a, b, c]) {
        const rows = await withScoreFile(open, file, async (scores) => (await scores.readTable(['clip_score'])).uids);
        expect(rows.length).toBe(200 * 4);
      }
    }
    expect(footerReads([a, b, c])).toEqual({ [a]: 1, [b]: 1, [c]: 3 });
  });
});
