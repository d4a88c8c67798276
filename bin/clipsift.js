#!/usr/bin/env node
// The npm entry point (package.json "bin"): runs the built command line from dist/lib.
//
// Under a virtual-memory limit (`ulimit -v`, common on shared HPC nodes) it first re-runs itself with
// Node's --disable-wasm-trap-handler: with the trap handler, V8 reserves about 10 GiB of address space
// for every WebAssembly memory (4 GiB of addressable range plus guard regions, whatever the memory's
// size), so the engine cannot start under limits below ~12 GiB. Without it V8 checks bounds
// explicitly and reserves only what the memory needs; one thread then runs in ~1.5 GiB.
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import process from 'node:process';
import { fileURLToPath } from 'node:url';

const NO_TRAP_HANDLER = '--disable-wasm-trap-handler';

/** The process's address-space limit in bytes (Linux), or undefined when there is none or it is unknown. */
function addressSpaceLimit() {
  try {
    const match = /^Max address space\s+(\d+)/m.exec(readFileSync('/proc/self/limits', 'utf8'));
    return match ? Number(match[1]) : undefined;
  } catch {
    return undefined;
  }
}

if (
  addressSpaceLimit() !== undefined &&
  !process.execArgv.includes(NO_TRAP_HANDLER) &&
  process.allowedNodeEnvironmentFlags.has(NO_TRAP_HANDLER)
) {
  const child = spawn(
    process.execPath,
    [NO_TRAP_HANDLER, ...process.execArgv, fileURLToPath(import.meta.url), ...process.argv.slice(2)],
    { stdio: 'inherit' },
  );
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) process.on(signal, () => child.kill(signal));
  child.on('exit', (code, signal) => {
    if (signal) {
      process.removeAllListeners(signal);
      process.kill(process.pid, signal);
    } else process.exit(code ?? 1);
  });
} else {
  let main;
  try {
    ({ main } = await import('../dist/lib/cli/main.js'));
  } catch (error) {
    if (error && error.code === 'ERR_MODULE_NOT_FOUND' && String(error.message).includes('dist/lib/cli/main.js')) {
      process.stderr.write('clipsift: dist/lib is not built; run `npm run build` in the package directory\n');
      process.exit(1);
    }
    throw error;
  }
  // exitCode rather than exit(): lets pending stdout writes to a pipe finish.
  process.exitCode = await main(process.argv.slice(2));
}
