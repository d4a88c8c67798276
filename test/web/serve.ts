/**
 * Starts `clipsift serve-demo --port 0` as the user would (bin/clipsift.js) and reads the URL it
 * prints, so the tests exercise the real command, headers and all.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const BIN = fileURLToPath(new URL('../../bin/clipsift.js', import.meta.url));

export interface RunningDemo {
  url: string;
  stop(): Promise<void>;
}

export async function startServeDemo(): Promise<RunningDemo> {
  const child = spawn(process.execPath, [BIN, 'serve-demo', '--port', '0', '--host', '127.0.0.1'], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const url = await new Promise<string>((resolve, reject) => {
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      const match = /http:\/\/127\.0\.0\.1:\d+\//.exec(output);
      if (match) resolve(match[0]);
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.once('exit', (code) => reject(new Error(`serve-demo exited with code ${code} before listening:\n${output}`)));
  });
  return { url, stop: () => stopChild(child) };
}

function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    child.once('exit', () => resolve());
    child.kill('SIGTERM');
  });
}
