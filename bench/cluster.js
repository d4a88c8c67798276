// `node bench/cluster.js [--shards 6] [--rows 10000] [--workers 1,2] [--threads 1] [score options...]`
// (after `npm run build`; needs Debian's redis-server). Not a test: scores a synthetic DataComp-shaped
// pool (float16, 768-d) through `clipsift score --queue` with N local `clipsift worker` processes on a
// redis-server of its own (127.0.0.1, free port), for each N, and prints shards/s, the speed-up over one
// worker, and a projection for the DataComp pools: measured seconds per shard × shards / workers.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, createConnection } from 'node:net';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { writeSyntheticShard } from './datacomp-shard.js';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
const BIN = join(ROOT, 'bin/clipsift.js');
/** DataComp pools by pairs; shards of the synthetic shard's size. */
const POOLS = [
  ['small', 12.8e6],
  ['medium', 128e6],
  ['large', 1.28e9],
];

function option(args, name, fallback) {
  const at = args.indexOf(name);
  if (at < 0) return fallback;
  const [value] = args.splice(at, 2).slice(1);
  return value;
}

const args = process.argv.slice(2);
const shardCount = Number(option(args, '--shards', '6'));
const rows = Number(option(args, '--rows', '10000'));
const workerCounts = option(args, '--workers', '1,2').split(',').map(Number);
const threads = option(args, '--threads', '1');
const scoreArgs = args.length > 0 ? args : ['--simd', 'baseline'];

const children = new Set();
function run(argv, { wait = true } = {}) {
  const child = spawn(process.execPath, [BIN, ...argv], { stdio: ['ignore', 'pipe', 'pipe'] });
  children.add(child);
  let stderr = '';
  child.stderr.on('data', (d) => (stderr += d));
  child.stdout.on('data', () => {});
  const done = new Promise((resolve) =>
    child.on('close', (code) => {
      children.delete(child);
      resolve({ code, stderr });
    }),
  );
  return wait ? done : { child, done };
}
function killAll() {
  for (const child of children) child.kill('SIGKILL');
}
process.on('exit', killAll);
process.on('SIGINT', () => process.exit(130));

const freePort = () =>
  new Promise((resolve) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
async function waitForPort(port) {
  for (let i = 0; i < 200; i++) {
    const open = await new Promise((resolve) => {
      const socket = createConnection({ host: '127.0.0.1', port }, () => resolve(socket.end() && true));
      socket.on('error', () => resolve(false));
    });
    if (open) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`redis-server did not listen on ${port}`);
}

const work = mkdtempSync(join(tmpdir(), 'clipsift-bench-cluster-'));
let redis;
try {
  const pool = join(work, 'pool');
  const { mkdirSync } = await import('node:fs');
  mkdirSync(pool);
  process.stderr.write(`writing ${shardCount} synthetic shards of ${rows} rows...\n`);
  for (let k = 0; k < shardCount; k++)
    writeSyntheticShard(pool, `shard-${String(k).padStart(4, '0')}`, rows, 768, k + 1);

  const port = await freePort();
  redis = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], {
    stdio: 'ignore',
  });
  await waitForPort(port);
  const url = `redis://127.0.0.1:${port}`;

  const results = [];
  for (const n of workerCounts) {
    const team = Array.from({ length: n }, () =>
      run(['worker', '--queue', url, '--threads', threads], { wait: false }),
    );
    await new Promise((r) => setTimeout(r, 1500)); // let the workers connect and load the engine code
    const out = join(work, `out-${n}`);
    const loadBefore = loadavg()[0];
    const started = performance.now();
    const result = await run(['score', pool, '--out', out, '--queue', url, '--quiet', ...scoreArgs]);
    const seconds = (performance.now() - started) / 1000;
    for (const { child } of team) child.kill('SIGKILL');
    await Promise.all(team.map((w) => w.done));
    if (result.code !== 0) throw new Error(`score --queue failed: ${result.stderr}`);
    results.push({ workers: n, seconds, shardsPerSecond: shardCount / seconds, load: [loadBefore, loadavg()[0]] });
    process.stderr.write(`${n} worker${n === 1 ? '' : 's'}: ${shardCount} shards in ${seconds.toFixed(1)} s\n`);
  }

  const base = results[0];
  const cpu = cpus();
  console.log(
    `machine: ${cpu[0]?.model ?? 'unknown CPU'}, ${cpu.length} cores, Node ${process.versions.node}; ` +
      `${shardCount} shards × ${rows} rows × 768-d float16, ${threads} kernel thread(s) per worker, score ${scoreArgs.join(' ')}`,
  );
  for (const r of results) {
    console.log(
      `${r.workers} worker${r.workers === 1 ? ' ' : 's'}: ${r.shardsPerSecond.toFixed(3)} shards/s, ` +
        `${((r.shardsPerSecond * rows) / 1000).toFixed(1)}k rows/s, speed-up ×${(r.shardsPerSecond / base.shardsPerSecond).toFixed(2)} over 1 worker` +
        ` (1-min load average ${r.load[0].toFixed(1)} before, ${r.load[1].toFixed(1)} after)`,
    );
  }
  // Workers compete with everything else for the cores: a speed-up measured on a busy machine means little.
  const busiest = Math.max(...results.flatMap((r) => r.load));
  if (busiest > cpu.length - 1)
    console.log(
      `note: the load average reached ${busiest.toFixed(1)} on ${cpu.length} cores, so other processes shared the cores with the workers; measure the speed-up on an idle machine`,
    );
  const secondsPerShard = base.seconds / shardCount; // one worker: wall seconds per shard, queue overhead included
  console.log(
    `projection at ${secondsPerShard.toFixed(2)} s per ${rows}-row shard per worker (measured with 1 worker):`,
  );
  for (const [name, pairs] of POOLS) {
    const shards = Math.ceil(pairs / rows);
    const cells = [1, 16, 64, 256].map(
      (w) => `${w} worker${w === 1 ? '' : 's'} ${formatHours((secondsPerShard * shards) / w)}`,
    );
    console.log(
      `  DataComp ${name} (${(pairs / 1e6).toLocaleString('en-US')}M pairs, ${shards.toLocaleString('en-US')} shards): ${cells.join(', ')}`,
    );
  }
} finally {
  killAll();
  redis?.kill('SIGKILL');
  rmSync(work, { recursive: true, force: true });
}

function formatHours(seconds) {
  return seconds >= 86400
    ? `${(seconds / 86400).toFixed(1)} d`
    : seconds >= 3600
      ? `${(seconds / 3600).toFixed(1)} h`
      : seconds >= 60
        ? `${(seconds / 60).toFixed(0)} min`
        : `${seconds.toFixed(0)} s`;
}
