// What `npm pack` publishes: the build without the demo's source maps, and the top-level main/types
// that resolvers without `exports` support (older bundlers, TypeScript's node10 resolution) read.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const pkg = JSON.parse(readFileSync(`${ROOT}package.json`, 'utf8'));

describe('the published package', () => {
  const listing = JSON.parse(
    execFileSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], { cwd: ROOT, encoding: 'utf8' }),
  )[0] as { files: { path: string }[]; unpackedSize: number };
  const files = new Set(listing.files.map((f) => f.path));

  it('holds no source maps', () => {
    expect([...files].filter((path) => path.endsWith('.map'))).toEqual([]);
  });

  it("has top-level main and types that are the '.' export's, and both are published", () => {
    expect(pkg.main).toBe(pkg.exports['.'].default);
    expect(pkg.types).toBe(pkg.exports['.'].types);
    expect(files.has(pkg.main.replace(/^\.\//, ''))).toBe(true);
    expect(files.has(pkg.types.replace(/^\.\//, ''))).toBe(true);
  });

  it('still publishes the demo page, the kernels, the CLI and the Deno entry', () => {
    for (const path of ['dist/web/index.html', 'dist/web/assets/app.js', 'bin/clipsift.js', 'score.ts'])
      expect(files.has(path), path).toBe(true);
    expect([...files].some((path) => /^dist\/wasm\/clipsift\.baseline\.wasm$/.test(path))).toBe(true);
  });
});
