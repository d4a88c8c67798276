import { describe, expect, it } from 'vitest';
import { generateSamplePool, ROW_KINDS } from '../../src/sample/pool.js';
import { fromFloat16Bits } from '../../src/numeric/float16.js';
import { RandomStream } from '../../src/numeric/random.js';
import { TOPICS } from '../../src/sample/topics.js';

/** Everything that defines a pool, as one byte string. */
function bytesOf(pool: ReturnType<typeof generateSamplePool>): Buffer {
  return Buffer.concat([
    Buffer.from(JSON.stringify([pool.uids, pool.captions, pool.urls, [...pool.topics], pool.kinds])),
    ...[pool.image, pool.text, pool.target].map((m) =>
      Buffer.from(m.data.buffer, m.data.byteOffset, m.data.byteLength),
    ),
  ]);
}

describe('RandomStream', () => {
  it('is a pure function of its seed', () => {
    const a = new RandomStream(7);
    const b = new RandomStream(7);
    const c = new RandomStream(8);
    const xs = Array.from({ length: 50 }, () => a.nextUint32());
    expect(Array.from({ length: 50 }, () => b.nextUint32())).toEqual(xs);
    expect(Array.from({ length: 50 }, () => c.nextUint32())).not.toEqual(xs);
  });

  it('gives normal values with mean ≈ 0 and variance ≈ 1', () => {
    const r = new RandomStream(1);
    let sum = 0;
    let squares = 0;
    const n = 200_000;
    for (let i = 0; i < n; i++) {
      const x = r.normal();
      sum += x;
      squares += x * x;
    }
    expect(Math.abs(sum / n)).toBeLessThan(0.01);
    expect(Math.abs(squares / n - 1)).toBeLessThan(0.02);
  });
});

describe('generateSamplePool', () => {
  const small = { rows: 600, dim: 256 };

  it('gives the same bytes for the same seed and different ones for another', () => {
    const a = generateSamplePool({ ...small, seed: 3 });
    const b = generateSamplePool({ ...small, seed: 3 });
    const c = generateSamplePool({ ...small, seed: 4 });
    expect(bytesOf(a).equals(bytesOf(b))).toBe(true);
    expect(bytesOf(a).equals(bytesOf(c))).toBe(false);
  });

  it('has DataComp-shaped rows: unique 32-hex uids, captions, urls, L2-normalised float16 embeddings', () => {
    const pool = generateSamplePool(small);
    expect(pool.uids).toHaveLength(600);
    expect(new Set(pool.uids).size).toBe(600);
    for (const uid of pool.uids) expect(uid).toMatch(/^[0-9a-f]{32}$/);
    expect(pool.captions.every((c) => c.length > 0)).toBe(true);
    expect(pool.urls.every((u) => u.startsWith('https://'))).toBe(true);
    for (const m of [pool.image, pool.text, pool.target]) {
      expect(m.data.length).toBe(m.rows * m.dim);
      for (let r = 0; r < m.rows; r++) {
        let norm = 0;
        for (let i = 0; i < m.dim; i++) norm += fromFloat16Bits(m.data[r * m.dim + i]!) ** 2;
        expect(Math.abs(Math.sqrt(norm) - 1)).toBeLessThan(2e-3);
      }
    }
  });

  it('plants every defect kind, off-target rows only in topics the target lacks', () => {
    const pool = generateSamplePool({ seed: 0 });
    expect(pool.image.rows).toBe(4000);
    expect(pool.image.dim).toBe(768);
    const counts = Object.fromEntries(ROW_KINDS.map((k) => [k, pool.kinds.filter((x) => x === k).length]));
    expect(counts.mismatched).toBe(320);
    expect(counts.duplicate).toBe(240);
    expect(counts.generic).toBe(160);
    expect(counts.clean! + counts['off-target']!).toBe(4000 - 720);
    pool.kinds.forEach((kind, row) => {
      const inTarget = TOPICS[pool.topics[row]!]!.inTarget;
      if (kind === 'off-target') expect(inTarget).toBe(false);
      if (kind === 'clean') expect(inTarget).toBe(true);
    });
  });
});
