/**
 * vitest globalSetup: a run marker in the environment every test process and child inherits, and a
 * teardown check that no process carrying it is still alive when the suite ends: a test that leaks a
 * server, a serve-demo child or a browser fails the run (and its leftovers are killed, so they do not
 * outlive it). Linux only (/proc); elsewhere the check is skipped with a line saying so.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';

export const MARKER = 'CLIPSIFT_TEST_RUN';

/** Processes other than this one whose initial environment carries `MARKER=value` (or a nested run's extension of it). */
export function processesWithMarker(value: string): { pid: number; command: string }[] {
  // A nested run (a test that runs vitest) extends its parent's value, so the parent sees its processes too.
  const needle = `${MARKER}=${value}`;
  const found: { pid: number; command: string }[] = [];
  for (const entry of readdirSync('/proc')) {
    const pid = Number(entry);
    if (!Number.isInteger(pid) || pid === process.pid) continue;
    try {
      const environ = readFileSync(`/proc/${pid}/environ`, 'latin1').split('\0');
      if (!environ.some((entry) => entry === needle || entry.startsWith(`${needle}.`))) continue;
      const stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
      const fields = /^\d+ \(.*\) (\S) (\d+) /s.exec(stat);
      if (fields?.[1] === 'Z') continue; // exited, waiting to be reaped
      const command = readFileSync(`/proc/${pid}/cmdline`, 'latin1').split('\0').join(' ').trim();
      // vitest's own pool workers (children of this process) may still be on their way out.
      if (Number(fields?.[2]) === process.pid && command.includes('vitest')) continue;
      found.push({ pid, command });
    } catch {
      // gone meanwhile, or not ours to read
    }
  }
  return found;
}

export default function setup(): () => Promise<void> {
  const parent = process.env[MARKER];
  const value = `${parent ? `${parent}.` : ''}${randomBytes(8).toString('hex')}`;
  process.env[MARKER] = value;
  return async function teardown() {
    if (!existsSync('/proc/self/environ')) {
      console.warn('global teardown: no /proc here, so leaked processes are not checked');
      return;
    }
    let leaked = processesWithMarker(value);
    // Give processes a test stopped just now a moment to exit (bounded: 20 × 100 ms).
    for (let i = 0; i < 20 && leaked.length > 0; i++) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      leaked = processesWithMarker(value);
    }
    if (leaked.length === 0) return;
    for (const { pid } of leaked) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
    // A throw here is only logged by vitest ("error during close"); the exit code is what CI sees.
    process.exitCode = 1;
    console.error(
      `global teardown: tests left ${leaked.length} process${leaked.length === 1 ? '' : 'es'} running (killed now): ${leaked
        .map((p) => `${p.pid} ${p.command.slice(0, 120)}`)
        .join('; ')}`,
    );
  };
}
