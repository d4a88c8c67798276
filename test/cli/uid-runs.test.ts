/**
 * Sorted runs of kept uids spilled past a memory budget (src/cli/uid-runs.ts) and merged back
 * (mergeUidRunChunks): the subset file streamed from them is numpy.save's file byte for byte (the
 * numpy-written fixture), and a streaming select through a spilling store keeps what the in-memory
 * select keeps. The spill directory is gone after close.
 */
import { mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { SpillingRunStore } from '../../src/cli/uid-runs.js';
import { encodeSubsetHeader, encodeSubsetRecords } from '../../src/io/subset-file.js';
import { parseUids, sortUids, UID_WORDS, uidCount } from '../../src/io/uid.js';
import { mergeUidRunChunks, type ScorePasses, streamSelect } from '../../src/select/streaming.js';
import { selectFromTable } from '../../src/select/table.js';
import { concatArrays, expectSameBytes, fixtureBytes } from '../io/helpers.js';

async function merged(store: SpillingRunStore, chunk: number): Promise<Uint32Array[]> {
  const parts: Uint32Array[] = [];
  for await (const part of mergeUidRunChunks(store.runs(), chunk)) parts.push(part.slice());
  return parts;
}

describe('spilled runs of kept uids', () => {
  it('merge into exactly the subset file numpy.save wrote, from runs partly in memory and partly on disk', async () => {
    const text = new TextDecoder().decode(fixtureBytes('uids.txt')).trim().split('\n');
    const uids = parseUids(text, 'uids.txt'); // repeats included
    const count = uidCount(uids);
    const parent = mkdtempSync(join(tmpdir(), 'clipsift-spill-test-'));
    // Runs of 7 rows each, overlapping (every third row again in the next run), each sorted and unique.
    const runs: Uint32Array[] = [];
    for (let start = 0; start < count; start += 7) {
      const rows = Array.from({ length: Math.min(7, count - start) }, (_, i) => start + i);
      if (start + 7 < count) rows.push(start + 7);
      const run = new Uint32Array(rows.length * UID_WORDS);
      rows.forEach((row, k) => {
        run.set(uids.subarray(row * UID_WORDS, (row + 1) * UID_WORDS), k * UID_WORDS);
      });
      runs.push(sortUids(run, { unique: true }));
    }
    const store = new SpillingRunStore(2 * runs[0]!.byteLength, parent);
    for (const run of runs) await store.add(run);
    expect(store.spilled).toBe(runs.length - 2);
    expect(readdirSync(parent)).toHaveLength(1);
    for (const chunk of [1, 3, 64]) {
      const parts = await merged(store, chunk);
      const distinct = parts.reduce((n, p) => n + uidCount(p), 0);
      const file = concatArrays(Uint8Array, [
        encodeSubsetHeader(distinct),
        ...parts.map((p) => encodeSubsetRecords(p)),
      ]);
      expectSameBytes(file, fixtureBytes('subset.npy'));
    }
    store.close();
    expect(readdirSync(parent)).toEqual([]);
  });

  it('a streaming select through a store that spills every run keeps what the in-memory select keeps', async () => {
    const rows = 500;
    const uids = new Uint32Array(rows * UID_WORDS);
    let state = 12345;
    const next = () => {
      state = (Math.imul(state, 1103515245) + 12345) >>> 0;
      return state;
    };
    for (let i = 0; i < uids.length; i++) uids[i] = i % UID_WORDS < 2 ? next() % 3 : next();
    const a = Float32Array.from({ length: rows }, () => (next() % 9) / 4);
    const b = Float32Array.from({ length: rows }, () => (next() % 5) - 2);
    const table = { uids, columns: { a, b } };
    const passes: ScorePasses = async function* (columns, withUids) {
      for (let start = 0; start < rows; start += 37) {
        const n = Math.min(37, rows - start);
        yield {
          start,
          rows: n,
          columns: Object.fromEntries(columns.map((c) => [c, table.columns[c as 'a' | 'b'].slice(start, start + n)])),
          ...(withUids ? { uids: uids.slice(start * UID_WORDS, (start + n) * UID_WORDS) } : {}),
        };
      }
    };
    const steps = [
      { kind: 'top', column: 'a', fraction: 0.6, decimal: '60%' },
      { kind: 'top', column: 'b', fraction: 0.3 },
    ] as const;
    const parent = mkdtempSync(join(tmpdir(), 'clipsift-spill-test-'));
    const store = new SpillingRunStore(0, parent);
    const got = await streamSelect(passes, [...steps], { runUids: 16, runStore: store });
    expect(got.runs).toEqual([]);
    expect(store.spilled).toBeGreaterThan(5);
    const expected = selectFromTable(table, [...steps]);
    expect(got.summary.steps).toEqual(expected.summary.steps);
    const parts = await merged(store, 10);
    expect(
      concatArrays(
        Uint8Array,
        parts.map((p) => new Uint8Array(p.buffer, p.byteOffset, p.byteLength)),
      ),
    ).toEqual(new Uint8Array(expected.uids.buffer));
    store.close();
    expect(readdirSync(parent)).toEqual([]);
  });
});
