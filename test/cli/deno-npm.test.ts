/**
 * `deno run -A npm:clipsift …`, the documented way to run an installed clipsift under Deno, against the
 * real package: `npm pack` of this tree and of its dependencies, served by a registry on 127.0.0.1
 * (NPM_CONFIG_REGISTRY) into an empty DENO_DIR, so nothing is published and nothing leaves the machine.
 * The score files must equal the Node CLI's byte for byte (same kernel variant).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BIN, makeDataCompDir, ROOT, runChild, tempDir } from './helpers.js';
import { packAll, startRegistry, type LocalRegistry } from './local-registry.js';

const DENO = join(ROOT, 'node_modules/.bin/deno');
const VERSION = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;

let registry: LocalRegistry | undefined;
let env: Record<string, string>;
let cwd: string;

beforeAll(async () => {
  const tarballs = tempDir('clipsift-pack-');
  registry = await startRegistry(tarballs, await packAll(tarballs));
  // A fresh cache, and a working directory without package.json: only the registry can supply clipsift.
  env = {
    NPM_CONFIG_REGISTRY: registry.url,
    DENO_DIR: tempDir('clipsift-deno-dir-'),
    DENO_NO_UPDATE_CHECK: '1',
    NO_COLOR: '1',
  };
  cwd = tempDir('clipsift-deno-cwd-');
}, 120_000);

afterAll(async () => {
  await registry?.close();
});

describe('deno run -A npm:clipsift', { timeout: 120_000 }, () => {
  it('prints the packed version', async () => {
    const result = await runChild(DENO, ['run', '-A', 'npm:clipsift', '--version'], { cwd, env });
    expect(result.stderr.replace(/^(Download|Initialize) .*\n/gm, '')).toBe('');
    expect(result.stdout).toBe(`${VERSION}\n`);
  });

  it('scores like the Node CLI, byte for byte', async () => {
    const { dir } = makeDataCompDir([{ name: 's0', rows: 40, seed: 77 }]);
    const args = (out: string) => ['score', dir, '--out', out, '--simd', 'baseline', '--batch-size', '16', '--quiet'];
    const viaNode = join(tempDir(), 'node');
    const viaDeno = join(tempDir(), 'deno');
    expect((await runChild(process.execPath, [BIN, ...args(viaNode)])).code).toBe(0);
    const result = await runChild(DENO, ['run', '-A', 'npm:clipsift', ...args(viaDeno)], { cwd, env });
    expect(result.stderr.replace(/^(Download|Initialize) .*\n/gm, '')).toBe('');
    expect(result.code).toBe(0);
    expect(readdirSync(viaDeno).sort()).toEqual(['_stats.json', 's0.scores.parquet', 's0.stats.json']);
    expect(
      readFileSync(join(viaDeno, 's0.scores.parquet')).equals(readFileSync(join(viaNode, 's0.scores.parquet'))),
    ).toBe(true);
  });
});
