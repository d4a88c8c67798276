/**
 * `deno run score.ts …` without the permissions a command needs: one line that names the refused
 * permission and the narrow command line that grants it (never "unknown command" nor version
 * 0.0.0-unknown), and that command line, run as printed, works.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { makeDataCompDir, ROOT, runChild, tempDir } from './helpers.js';

const DENO = join(ROOT, 'node_modules/.bin/deno');
const VERSION = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;

/** Runs `deno run score.ts <args>` with no permissions, from the package root, stdin closed (no prompt). */
function denoWithout(args: string[]) {
  return runChild(DENO, ['run', 'score.ts', ...args]);
}

/** The command line the error gives, run through sh from the package root with our deno binary. */
function runAdvice(stderr: string) {
  const match = /grant it: deno (run .*) \(or deno run -A\)$/m.exec(stderr);
  expect(match, stderr).not.toBeNull();
  return runChild('sh', ['-c', `"${DENO}" ${match![1]}`]);
}

describe('deno run score.ts without permissions', { timeout: 120_000 }, () => {
  it('--version says which read to grant, and the printed command prints the version', async () => {
    const denied = await denoWithout(['--version']);
    expect(denied.code).toBe(1);
    expect(denied.stdout).toBe('');
    expect(denied.stderr).toBe(
      `clipsift: Deno denied read access to "${join(ROOT, 'package.json')}"; grant it: deno run --allow-read=${ROOT.replace(/\/$/, '')} score.ts --version (or deno run -A)\n`,
    );
    const granted = await runAdvice(denied.stderr);
    expect(granted.stderr).toBe('');
    expect(granted.stdout).toBe(`${VERSION}\n`);
  });

  it('demo is not an "unknown command": the narrow read grant runs it', async () => {
    const denied = await denoWithout(['demo']);
    expect(denied.code).toBe(1);
    expect(denied.stderr).not.toContain('unknown command');
    expect(denied.stderr).toMatch(/^clipsift demo: Deno denied read access to ".*"; grant it: deno run --allow-read=/);
    expect(denied.stderr.trimEnd().split('\n')).toHaveLength(1);
    const granted = await runAdvice(denied.stderr);
    expect(granted.stderr).toBe('');
    expect(granted.code).toBe(0);
    expect(granted.stdout).toContain('negCLIPLoss');
  });

  it('score names --allow-read and --allow-write for --out, and runs with exactly those', async () => {
    const { dir } = makeDataCompDir([{ name: 's0', rows: 12, seed: 5 }]);
    const out = join(tempDir(), 'scores');
    const denied = await denoWithout(['score', dir, '--out', out, '--quiet']);
    expect(denied.code).toBe(1);
    expect(denied.stderr).toContain(
      `grant it: deno run --allow-read --allow-write=${out} score.ts score ${dir} --out ${out} --quiet (or deno run -A)`,
    );
    const granted = await runAdvice(denied.stderr);
    expect(granted.stderr).toBe('');
    expect(granted.code).toBe(0);
    expect(existsSync(join(out, 's0.scores.parquet'))).toBe(true);
  });
});
