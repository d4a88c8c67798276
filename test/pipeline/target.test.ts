/**
 * A target read over https:// (src/pipeline/target.ts): its rows and its identity (the sha256 that
 * score files record) are those of the same files on disk, whatever order the reader reads them in;
 * each file is opened once, and an array read front to back is hashed on the way instead of being
 * downloaded again for the hash (the Range server's log).
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadTarget } from '../../src/pipeline/target.js';
import { tempDir, writeDataCompShard } from '../cli/helpers.js';
import { type RangeServer, startRangeServer } from '../io/servers.js';

describe('a remote target', () => {
  let http: RangeServer;
  let dir: string;
  let npz: Uint8Array;
  beforeAll(async () => {
    // Stored entries l14_img (first), l14_txt, b32_img, b32_txt (last): ~1.5 MB, well past the 64 KiB
    // the zip reader reads from the end to find its directory.
    dir = tempDir();
    writeDataCompShard(dir, { name: 'a', rows: 300, seed: 41 });
    writeDataCompShard(dir, { name: 'b', rows: 300, seed: 41 });
    npz = new Uint8Array(readFileSync(join(dir, 'a.npz')));
    http = await startRangeServer({ '/a.npz': npz, '/b.npz': npz });
  });
  afterAll(async () => {
    await http?.close();
  });

  for (const [key, inOrder] of [
    ['l14_img', true],
    ['b32_txt', false],
  ] as const) {
    it(`${key} of two npz files: the rows and identity of the local files, each file opened once`, async () => {
      const from = http.log.length;
      const remote = await loadTarget([`${http.url}/a.npz`, `${http.url}/b.npz`], key, false);
      const local = await loadTarget([join(dir, 'a.npz'), join(dir, 'b.npz')], key, false);
      expect(remote.identity).toEqual(local.identity);
      expect(remote.identity.sha256).toBe(createHash('sha256').update(npz).update(npz).digest('hex'));
      expect(remote.identity.bytes).toBe(2 * npz.length);
      expect(Array.from(remote.data)).toEqual(Array.from(local.data));
      const log = http.log.slice(from);
      expect(log.filter((r) => r.method === 'HEAD').map((r) => r.path)).toEqual(['/a.npz', '/b.npz']);
      for (const path of ['/a.npz', '/b.npz']) {
        const fetched = log
          .filter((r) => r.method === 'GET' && r.path === path)
          .map((r) => /^bytes=(\d+)-(\d+)$/.exec(r.range!)!)
          .reduce((n, [, start, end]) => n + Number(end) - Number(start) + 1, 0);
        // The first entry is read from byte 0 on, so hashing it needs no second download: the file's
        // bytes plus the directory at its end. The last entry is read out of order: fetched again.
        if (inOrder) expect(fetched, path).toBeLessThan(npz.length + 128 * 1024);
        else expect(fetched, path).toBeGreaterThan(npz.length);
      }
    });
  }
});
