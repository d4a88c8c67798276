/**
 * `clipsift inspect … | head`: when whoever reads stdout goes away, stop quietly, as Unix tools do on
 * SIGPIPE, instead of dying on an unhandled EPIPE error with a stack trace. Node (and Deno's node:
 * process) report the closed pipe as an 'error' event on the stream.
 */
import process from 'node:process';

let installed = false;

/** Makes a write to a closed stdout end the process quietly (exit 0); a closed stderr is ignored. Idempotent. */
export function exitQuietlyOnClosedPipe(): void {
  if (installed) return;
  installed = true;
  process.stdout.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code === 'EPIPE') process.exit(0);
    throw error;
  });
  process.stderr.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code !== 'EPIPE') throw error;
  });
}
