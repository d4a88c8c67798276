/**
 * clipsift under a virtual-memory limit (`ulimit -v`, as on shared HPC nodes): the CLI runs where V8's
 * WebAssembly guard regions alone (~10 GiB per memory) would not fit, and a limit too small for even one
 * thread ends with one line saying what to raise. Runs the real CLI in `sh -c 'ulimit -v N; …'`.
 */
import { describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { BIN, makeDataCompDir, ROOT, runChild, tempDir } from './helpers.js';

/** Runs `node bin/clipsift.js <args>` in a shell whose address space is limited to `kib` KiB. */
function underLimit(kib: number, args: string[]) {
  const quoted = args.map((a) => `'${a.replace(/'/g, `'\\''`)}'`).join(' ');
  return runChild('sh', ['-c', `ulimit -v ${kib} && exec "${process.execPath}" "${BIN}" ${quoted}`]);
}

describe.runIf(process.platform === 'linux')('clipsift under ulimit -v', () => {
  it('scores under 3 GB of address space (threads auto fits the limit)', async () => {
    const { dir } = makeDataCompDir([{ name: 's0', rows: 64, seed: 8 }]);
    const result = await underLimit(3_000_000, ['score', dir, '--out', tempDir(), '--quiet']);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/scored 64 rows in 1 shard/);
  });

  it('says in one line what to raise when the WebAssembly memory cannot be reserved', async () => {
    // The command line without bin/clipsift.js's re-run (as Deno or a program calling main() gets it):
    // with V8's trap handler every wasm memory reserves ~10 GiB, which 4 GB cannot hold.
    const { dir } = makeDataCompDir([{ name: 's0', rows: 64, seed: 8 }]);
    const main = join(ROOT, 'dist/lib/cli/main.js');
    const script = `import(${JSON.stringify(main)}).then(async (m) => { process.exitCode = await m.main(process.argv.slice(1)); })`;
    const args = ['score', dir, '--out', tempDir(), '--quiet', '--threads', '1'];
    const quoted = args.map((a) => `'${a}'`).join(' ');
    const result = await runChild('sh', [
      '-c',
      `ulimit -v 4000000 && exec "${process.execPath}" -e '${script}' ${quoted}`,
    ]);
    expect(result.code).toBe(1);
    expect(result.stderr).toBe(
      "clipsift score: not enough address space for the engine's WebAssembly memory under ulimit -v 4000000: raise the limit (ulimit -v unlimited, or about 12000000 KiB: V8 reserves ~10 GiB per WebAssembly memory; node --disable-wasm-trap-handler, as the clipsift command uses under a limit, needs about 1500000 for --threads 1) or pass --threads 1\n",
    );
    expect(result.stderr.trimEnd().split('\n')).toHaveLength(1);
  });
});
