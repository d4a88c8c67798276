// The sample pool is the same, byte for byte, in Node and in Deno (the npm `deno` devDependency):
// the generator promises runtime-independent arithmetic, so check it across two engines' builds.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createRequire } from 'node:module';
import { pathToFileURL, fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { generateSamplePool } from '../../src/sample/pool.js';

const OPTIONS = { rows: 300, dim: 64, seed: 5 };
const POOL_URL = pathToFileURL(fileURLToPath(new URL('../../src/sample/pool.ts', import.meta.url))).href;

/** The bytes that define a pool: metadata as JSON, then the three float16 matrices. */
const DIGEST_SOURCE = `
const p = generateSamplePool(${JSON.stringify(OPTIONS)});
const parts = [
  new TextEncoder().encode(JSON.stringify([p.uids, p.captions, p.urls, p.kinds, [...p.topics]])),
  new Uint8Array(p.image.data.buffer), new Uint8Array(p.text.data.buffer), new Uint8Array(p.target.data.buffer),
];`;

describe('sample pool portability', () => {
  it('Deno generates the same bytes as Node', async () => {
    const pool = generateSamplePool(OPTIONS);
    const hash = createHash('sha256');
    hash.update(JSON.stringify([pool.uids, pool.captions, pool.urls, pool.kinds, [...pool.topics]]));
    for (const m of [pool.image, pool.text, pool.target]) hash.update(new Uint8Array(m.data.buffer));
    const nodeDigest = hash.digest('hex');

    const deno = createRequire(import.meta.url).resolve('deno/bin.cjs');
    const script = `import { generateSamplePool } from '${POOL_URL}';${DIGEST_SOURCE}
const all = new Uint8Array(parts.reduce((s, x) => s + x.length, 0));
let at = 0;
for (const x of parts) { all.set(x, at); at += x.length; }
const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', all));
console.log([...digest].map((b) => b.toString(16).padStart(2, '0')).join(''));`;
    // Sloppy imports let Deno resolve the sources' NodeNext '.js' specifiers to the '.ts' files.
    const result = spawnSync(process.execPath, [deno, 'eval', '--unstable-sloppy-imports', '--no-lock', script], {
      encoding: 'utf8',
      timeout: 60_000,
    });
    expect(result.stderr.replace(/^Warning.*\n?/gm, '')).toBe('');
    expect(result.stdout.trim()).toBe(nodeDigest);
  }, 90_000);
});
