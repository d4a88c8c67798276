// `clipsift subset union|intersect` on subset files, against string-set references.
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { encodeSubsetFile } from '../../src/io/subset-file.js';
import { parseUids } from '../../src/io/uid.js';
import { makeUids, readSubsetUids, runCli, tempDir } from '../select/cli-fixtures.js';

function writeSubset(path: string, uids: string[]): void {
  writeFileSync(path, encodeSubsetFile(parseUids(uids, path)));
}

describe('clipsift subset', () => {
  const all = makeUids(40, 7);
  const a = all.filter((_, i) => i % 2 === 0);
  const b = all.filter((_, i) => i % 3 === 0);
  const c = all.filter((_, i) => i % 5 === 0);

  it('union and intersect of two or more files match set references', async () => {
    const dir = tempDir();
    for (const [name, uids] of [
      ['a', a],
      ['b', b],
      ['c', c],
    ] as const)
      writeSubset(join(dir, `${name}.npy`), uids);
    const files = ['a', 'b', 'c'].map((n) => join(dir, `${n}.npy`));

    expect((await runCli(['subset', 'union', files[0]!, files[1]!, '--out', join(dir, 'u.npy')])).code).toBe(0);
    expect(readSubsetUids(join(dir, 'u.npy'))).toEqual([...new Set([...a, ...b])].sort());

    expect((await runCli(['subset', 'intersect', ...files, '--out', join(dir, 'i.npy')])).code).toBe(0);
    expect(readSubsetUids(join(dir, 'i.npy'))).toEqual(a.filter((u) => b.includes(u) && c.includes(u)).sort());

    const json = await runCli(['subset', 'intersect', files[0]!, files[1]!, '--out', join(dir, 'j.npy'), '--json']);
    expect(JSON.parse(json.stdout)).toEqual({
      operation: 'intersect',
      inputs: [
        { file: files[0], uids: a.length },
        { file: files[1], uids: b.length },
      ],
      uids: a.filter((u) => b.includes(u)).length,
      out: join(dir, 'j.npy'),
    });
  });

  it('rejects bad usage and never overwrites an input', async () => {
    const dir = tempDir();
    writeSubset(join(dir, 'a.npy'), a);
    writeSubset(join(dir, 'b.npy'), b);
    const cases: [string[], RegExp][] = [
      [['merge', 'a.npy', 'b.npy', '--out', 'x.npy'], /expected union or intersect, got 'merge'/],
      [['union', join(dir, 'a.npy'), '--out', join(dir, 'x.npy')], /at least two subset files/],
      [['union', join(dir, 'a.npy'), join(dir, 'b.npy')], /--out FILE is required/],
      [
        ['union', join(dir, 'a.npy'), join(dir, 'b.npy'), '--out', join(dir, 'a.npy'), '--force'],
        /is one of the inputs/,
      ],
      [['union', join(dir, 'a.npy'), join(dir, 'nope.npy'), '--out', join(dir, 'x.npy')], /no such file/],
    ];
    for (const [args, message] of cases) {
      const result = await runCli(['subset', ...args]);
      expect(result.code, args.join(' ')).not.toBe(0);
      expect(result.stderr).toMatch(message);
    }
    expect(existsSync(join(dir, 'x.npy'))).toBe(false);
    expect(readSubsetUids(join(dir, 'a.npy'))).toEqual([...a].sort());
  });
});
