// The build and bench runners fail loudly: a missing step or benchmark, or one that fails, makes them
// exit non-zero naming it (they used to skip what was "not present" and exit 0).
import { spawnSync } from 'node:child_process';
import { chmodSync, copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
let dir: string;

/** A copy of `runner` (relative to the repo) in a scratch tree holding only the given stub scripts. */
function scratch(runner: string, stubs: Record<string, number>): string {
  dir = mkdtempSync(join(tmpdir(), 'clipsift-runner-'));
  const copy = join(dir, runner);
  mkdirSync(join(copy, '..'), { recursive: true });
  copyFileSync(join(ROOT, runner), copy);
  for (const [path, code] of Object.entries(stubs)) {
    mkdirSync(join(dir, path, '..'), { recursive: true });
    const shell = !path.endsWith('.js');
    writeFileSync(join(dir, path), shell ? `#!/bin/sh\nexit ${code}\n` : `process.exit(${code});\n`);
    if (shell) chmodSync(join(dir, path), 0o755);
  }
  return copy;
}

const run = (script: string) => spawnSync(process.execPath, [script], { encoding: 'utf8', timeout: 60_000 });

afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe('scripts/build.js', () => {
  it('refuses a missing step instead of skipping it', () => {
    const script = scratch('scripts/build.js', {
      'scripts/build-wasm.js': 0,
      'scripts/build-lib.js': 0,
      'scripts/build-web.js': 0,
    });
    const result = run(script);
    expect(result.status).toBe(1);
    expect(result.stderr).toMatch(/build: step build-edge\.js is missing/);
  });

  it('stops at a failing step', () => {
    const script = scratch('scripts/build.js', {
      'scripts/build-wasm.js': 0,
      'scripts/build-lib.js': 3,
      'scripts/build-web.js': 0,
      'scripts/build-edge.js': 0,
    });
    const result = run(script);
    expect(result.status).toBe(3);
    expect(result.stderr).toMatch(/build: build-lib\.js failed/);
    expect(result.stderr).not.toMatch(/build-web/);
  });

  it('runs every step when all are there', () => {
    const script = scratch('scripts/build.js', {
      'scripts/build-wasm.js': 0,
      'scripts/build-lib.js': 0,
      'scripts/build-web.js': 0,
      'scripts/build-edge.js': 0,
    });
    const result = run(script);
    expect(result.status).toBe(0);
    expect(result.stderr.match(/done in/g)).toHaveLength(4);
  });
});

describe('bench/run.js', () => {
  it('refuses a missing benchmark before running any', () => {
    const script = scratch('bench/run.js', { 'bench/engine.js': 0, 'node_modules/.bin/deno': 0 });
    const result = run(script);
    expect(result.status).toBe(1);
    expect(result.stderr).toMatch(/bench: missing threads: .*threads\.js/);
    expect(result.stdout).not.toMatch(/==/);
  });

  it('refuses a missing Deno', () => {
    const script = scratch('bench/run.js', { 'bench/engine.js': 0, 'bench/threads.js': 0 });
    const result = run(script);
    expect(result.status).toBe(1);
    expect(result.stderr).toMatch(/bench: missing engine, Deno.*deno/);
  });

  it('exits 1 naming a benchmark that failed, after running the others', () => {
    const script = scratch('bench/run.js', {
      'bench/engine.js': 0,
      'bench/threads.js': 4,
      'bench/tiles.js': 0,
      'node_modules/.bin/deno': 0,
    });
    const result = run(script);
    expect(result.status).toBe(1);
    expect(result.stdout.match(/^== /gm)).toHaveLength(4);
    expect(result.stderr).toMatch(/bench: failed: threads \(exit 4\)/);
  });
});
