// What consumes memory is bounded, and the limit is said: threads by cores (and by work), demo rows.
import { availableParallelism } from 'node:os';
import { describe, expect, it } from 'vitest';
import { createEngine } from 'clipsift';
import { ROWS_PER_THREAD, threadsForWork } from '../../src/cli/args.js';
import { runInProcess } from './helpers.js';

const cores = availableParallelism();
const limit = Math.max(4, 4 * cores);

describe('caps', () => {
  it('--threads above 4 × cores is a usage error saying the limit, for every command that takes it', async () => {
    for (const argv of [
      ['score', 'nowhere', '--out', 'nowhere-out', '--threads', '1024'],
      ['demo', '--threads', String(limit + 1)],
      ['select', 'nowhere', '--out', 'x.npy', '--normsim-d', '--embeddings', 'e', '--threads', '256'],
    ]) {
      const result = await runInProcess(argv);
      expect(result.code, argv.join(' ')).toBe(2);
      expect(result.stderr).toMatch(
        new RegExp(`--threads must be at most ${limit} \\(4 × the ${cores} cores? here\\), got '\\d+'`),
      );
    }
  });

  it('the engine refuses more threads than its limit before starting any', async () => {
    await expect(createEngine({ threads: 1024 })).rejects.toThrow(
      new RegExp(`threads must be at most ${limit} \\(4 × the ${cores} cores? here`),
    );
    const engine = await createEngine({ threads: limit });
    expect(engine.info().threads).toBeLessThanOrEqual(limit);
    await engine.close();
  });

  it('a small pool gets one thread per 1024 rows of work, whatever was asked', () => {
    expect(threadsForWork(256, 300)).toBe(1);
    expect(threadsForWork(8, 3 * ROWS_PER_THREAD)).toBe(3);
    expect(threadsForWork(2, 10 * ROWS_PER_THREAD)).toBe(2);
    expect(threadsForWork('auto', 1e9)).toBe(cores);
    expect(threadsForWork('auto', 0)).toBe(1);
  });

  it('demo --rows beyond 100000 is refused with the reason, before anything is generated', async () => {
    for (const rows of ['1e9', '2e7', '100001']) {
      const before = process.memoryUsage().rss;
      const result = await runInProcess(['demo', '--rows', rows, '--json']);
      expect(result.code, rows).toBe(2);
      expect(result.stderr).toMatch(/--rows must be at most 100000 \(the demo pool is generated in memory/);
      expect(result.stderr.trim().split('\n')).toHaveLength(1);
      expect(process.memoryUsage().rss - before).toBeLessThan(256 << 20);
    }
  });
});
