/**
 * A tiny npm registry on 127.0.0.1 for the install tests: it serves the tarballs `npm pack` made of this
 * package and of the dependencies installed in node_modules (the production closure from
 * package-lock.json), so `deno run -A npm:clipsift` can be tested offline against the real package,
 * without publishing anything.
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { ROOT } from './helpers.js';

interface Packed {
  name: string;
  version: string;
  filename: string;
  /** The folder it was packed from, relative to the package root. */
  folder?: string;
}

/**
 * Where the package's production dependencies and theirs are installed (package-lock.json paths such as
 * `node_modules/hyparquet` or `node_modules/hyparquet-writer/node_modules/hyparquet`), resolved as Node does.
 */
export function productionClosure(): string[] {
  const lock = JSON.parse(readFileSync(join(ROOT, 'package-lock.json'), 'utf8')) as {
    packages: Record<string, { dependencies?: Record<string, string> }>;
  };
  const resolveFrom = (from: string, name: string): string => {
    for (let dir = from; ; dir = dir.replace(/\/?node_modules\/[^/]+$/, '')) {
      const candidate = `${dir ? `${dir}/` : ''}node_modules/${name}`;
      if (lock.packages[candidate]) return candidate;
      if (dir === '') throw new Error(`package-lock.json has no ${name} for ${from || 'the root'}`);
    }
  };
  const seen = new Set<string>();
  const queue: [string, string][] = Object.keys(lock.packages['']!.dependencies ?? {}).map((n) => ['', n]);
  while (queue.length > 0) {
    const [from, name] = queue.shift()!;
    const path = resolveFrom(from, name);
    if (seen.has(path)) continue;
    seen.add(path);
    for (const dep of Object.keys(lock.packages[path]!.dependencies ?? {})) queue.push([path, dep]);
  }
  return [...seen].sort();
}

/** `npm pack` of the package and of every production dependency, into `dir` (offline: folders only). */
export function packAll(dir: string): Promise<Packed[]> {
  const folders = ['.', ...productionClosure().map((path) => `./${path}`)];
  return new Promise((resolve, reject) => {
    const child = spawn('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', dir, ...folders], {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => {
      if (code !== 0) return reject(new Error(`npm pack failed (${code}): ${err}`));
      const packed = JSON.parse(out) as Packed[];
      resolve(packed.map((p, i) => ({ ...p, folder: folders[i]! })));
    });
  });
}

export interface LocalRegistry {
  url: string;
  close(): Promise<void>;
}

/** Serves packuments (one version each) and tarballs for `packed`, whose files are in `dir`. */
export async function startRegistry(dir: string, packed: Packed[]): Promise<LocalRegistry> {
  const tarballs = new Map(packed.map((p) => [p.filename, readFileSync(join(dir, p.filename))]));
  let base = '';
  const available = new Set(packed.map((p) => p.name));
  /** Every packed version of `name`, the newest as latest. */
  const packument = (name: string) => {
    const versions = packed.filter((p) => p.name === name);
    return {
      name,
      'dist-tags': {
        latest: versions
          .map((p) => p.version)
          .sort(compareVersions)
          .at(-1),
      },
      versions: Object.fromEntries(
        versions.map((p) => {
          const bytes = tarballs.get(p.filename)!;
          const { optionalDependencies, ...manifest } = JSON.parse(
            readFileSync(join(ROOT, p.folder ?? '.', 'package.json'), 'utf8'),
          ) as { optionalDependencies?: Record<string, string> };
          // Optional dependencies this machine did not install (msgpackr-extract's prebuilt binaries) are not
          // served, so they are left out of the manifest as a registry without them would have them skipped.
          const optional = Object.entries(optionalDependencies ?? {}).filter(([n]) => available.has(n));
          if (optional.length > 0) Object.assign(manifest, { optionalDependencies: Object.fromEntries(optional) });
          const dist = {
            tarball: `${base}/-/${p.filename}`,
            shasum: createHash('sha1').update(bytes).digest('hex'),
            integrity: `sha512-${createHash('sha512').update(bytes).digest('base64')}`,
          };
          return [p.version, { ...manifest, dist }];
        }),
      ),
    };
  };
  const server: Server = createServer((request, response) => {
    const path = decodeURIComponent(new URL(request.url ?? '/', 'http://x').pathname);
    const tarball = path.startsWith('/-/') ? tarballs.get(path.slice(3)) : undefined;
    const name = path.slice(1);
    if (tarball) response.writeHead(200, { 'content-type': 'application/octet-stream' }).end(tarball);
    else if (packed.some((p) => p.name === name))
      response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(packument(name)));
    else response.writeHead(404, { 'content-type': 'application/json' }).end('{"error":"not found"}');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url: `${base}/`,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

function compareVersions(a: string, b: string): number {
  const pa = a.split(/[.-]/).map(Number);
  const pb = b.split(/[.-]/).map(Number);
  for (let i = 0; i < 3; i++) if (pa[i] !== pb[i]) return (pa[i] ?? 0) - (pb[i] ?? 0);
  return 0;
}
