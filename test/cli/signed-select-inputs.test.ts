/**
 * select's other inputs (--metadata, --embeddings, --image-based-target, --image-based-centroids) and
 * `clipsift subset` on signed (presigned) https URLs, served as S3 serves GET-presigned objects by a Range
 * server on 127.0.0.1 (403 to a HEAD and to a missing or wrong query). Each run is compared with the same
 * run on the local files, and no output or message may carry a signature.
 */
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeNpy } from '../../src/io/npy.js';
import { writeParquetTable } from '../../src/io/parquet.js';
import { type RangeServer, startSignedServer } from '../io/servers.js';
import { makeDataCompDir, pairedEmbeddings, rng, runInProcess, tempDir, writeTarget } from './helpers.js';

describe('select inputs and subset files as signed URLs', () => {
  let http: RangeServer;
  let pool: string;
  let scores: string;
  let meta: string;
  let target: string;
  let centroids: string;
  let subsets: string[];
  const signatures: Record<string, string> = {};
  const signedUrl = (path: string) => `${http.url}${path}${signatures[path]}`;
  const cli = (argv: string[]) => runInProcess(argv);
  const poolFiles = ['00000000.parquet', '00000000.npz', '00000001.parquet', '00000001.npz'];

  beforeAll(async () => {
    const made = makeDataCompDir([
      { name: '00000000', rows: 40, seed: 1 },
      { name: '00000001', rows: 33, seed: 2, compressed: true },
    ]);
    pool = made.dir;
    // A DataComp-like metadata column beside the pool (its own parquets: the pool's hold no numeric column).
    meta = tempDir();
    const next = rng(17);
    for (const shard of made.shards) {
      const similarity = Float32Array.from(shard.uids, () => next());
      writeFileSync(
        join(meta, `${shard.name}.parquet`),
        writeParquetTable({ columns: { uid: shard.uids, sim: similarity } }),
      );
    }
    target = join(tempDir(), 'target.npy');
    writeTarget(target, 5, 768, 9);
    centroids = join(tempDir(), 'centroids.npy');
    const { img } = pairedEmbeddings(6, 768, 21);
    writeFileSync(centroids, encodeNpy(img, [6, 768]));
    // Two subsets of the pool to combine: by CLIP score and by the metadata's own similarity column.
    subsets = [join(tempDir(), 'a.npy'), join(tempDir(), 'b.npy')];
    scores = tempDir();
    expect((await cli(['score', pool, '--out', scores, '--target', target, '--quiet'])).code).toBe(0);
    expect((await cli(['select', scores, '--out', subsets[0]!, '--top', 'clip_score:0.6'])).code).toBe(0);
    expect((await cli(['select', scores, '--out', subsets[1]!, '--top', 'negclip_loss:0.5'])).code).toBe(0);
    const files: Record<string, Uint8Array> = {
      '/target.npy': new Uint8Array(readFileSync(target)),
      '/centroids.npy': new Uint8Array(readFileSync(centroids)),
      '/a.npy': new Uint8Array(readFileSync(subsets[0]!)),
      '/b.npy': new Uint8Array(readFileSync(subsets[1]!)),
    };
    http = await startSignedServer(
      files,
      [
        ['/pool', pool],
        ['/meta', meta],
        ['/scores', scores, (n) => n.endsWith('.scores.parquet')],
      ],
      signatures,
    );
  });
  afterAll(async () => {
    await http?.close();
  });

  /** The request log since `from`: every request a GET with its own file's signature. */
  const allSigned = (from: number) => {
    const log = http.log.slice(from);
    expect(log.length).toBeGreaterThan(0);
    expect(log.every((r) => r.method === 'GET' && r.query === signatures[r.path])).toBe(true);
  };

  /**
   * `clipsift <local> --out A` and `clipsift <signed> --out B`: B is A byte for byte with the same --json
   * summary, and the signed run's every request a GET with its own file's signature. Returns the local run.
   */
  async function expectSignedAsLocal(local: string[], signed: string[]) {
    const localOut = join(tempDir(), 'subset.npy');
    const a = await cli([...local, '--out', localOut]);
    expect(a.code, a.stderr).toBe(0);
    const signedOut = join(tempDir(), 'subset.npy');
    const from = http.log.length;
    const b = await cli([...signed, '--out', signedOut]);
    expect(b.stderr).toBe('');
    expect(b.code).toBe(0);
    expect(readFileSync(signedOut)).toEqual(readFileSync(localOut));
    expect({ ...JSON.parse(b.stdout), out: null }).toEqual({ ...JSON.parse(a.stdout), out: null });
    allSigned(from);
    return a;
  }

  it('selects --image-based over signed --metadata, --embeddings and target into the subset of the local files', async () => {
    const steps = ['--image-based', '--image-based-clusters', '4', '--threads', '1', '--json'];
    await expectSignedAsLocal(
      ['select', '--metadata', pool, '--embeddings', pool, '--image-based-target', target, ...steps],
      [
        'select',
        ...['00000000.parquet', '00000001.parquet'].flatMap((name) => ['--metadata', signedUrl(`/pool/${name}`)]),
        ...poolFiles.flatMap((name) => ['--embeddings', signedUrl(`/pool/${name}`)]),
        '--image-based-target',
        signedUrl('/target.npy'),
        ...steps,
      ],
    );
  });

  it('takes signed --image-based-centroids as the local file, and names a refused one without its query', async () => {
    const steps = ['--image-based', '--threads', '1', '--json'];
    const signedArgs = [
      'select',
      '--metadata',
      pool,
      '--embeddings',
      pool,
      '--image-based-target',
      signedUrl('/target.npy'),
      ...steps,
    ];
    await expectSignedAsLocal(
      [
        'select',
        '--metadata',
        pool,
        '--embeddings',
        pool,
        '--image-based-target',
        target,
        '--image-based-centroids',
        centroids,
        ...steps,
      ],
      [...signedArgs, '--image-based-centroids', signedUrl('/centroids.npy')],
    );
    const refused = await cli([
      ...signedArgs,
      '--image-based-centroids',
      `${http.url}/centroids.npy?X-Amz-Signature=ffffffff`,
      '--out',
      join(tempDir(), 'subset.npy'),
    ]);
    expect(refused.code).toBe(1);
    expect(refused.stderr.trim().split('\n')).toEqual([
      `clipsift select: ${http.url}/centroids.npy: HTTP 403 Forbidden`,
    ]);
  });

  it('runs NormSim_2-D over signed score files, --metadata columns and --embeddings as over the local files', async () => {
    const steps = [
      ...['--top', 'sim:0.7', '--normsim-d', '--normsim-d-final', '0.3', '--normsim-d-iterations', '4'],
      ...['--top', 'clip_score:0.8', '--threads', '1', '--json'],
    ];
    const scoreNames = readdirSync(scores).filter((n) => n.endsWith('.scores.parquet'));
    const signedArgs = [
      'select',
      ...scoreNames.map((name) => signedUrl(`/scores/${name}`)),
      ...['00000000.parquet', '00000001.parquet'].flatMap((name) => ['--metadata', signedUrl(`/meta/${name}`)]),
      ...poolFiles.flatMap((name) => ['--embeddings', signedUrl(`/pool/${name}`)]),
    ];
    const local = await expectSignedAsLocal(
      ['select', scores, '--metadata', meta, '--embeddings', pool, ...steps],
      [...signedArgs, ...steps],
    );
    expect(JSON.parse(local.stdout).steps.map((s: { kind: string }) => s.kind)).toEqual(['top', 'normsim-d', 'top']);
    // An --embeddings file whose signature the server refuses: one line naming it without the query.
    const refused = await cli([
      ...signedArgs.slice(0, -2),
      '--embeddings',
      `${http.url}/pool/00000001.npz?X-Amz-Signature=ffffffff`,
      ...steps,
      '--out',
      join(tempDir(), 'subset.npy'),
    ]);
    expect(refused.code).toBe(1);
    expect(refused.stderr.trim().split('\n')).toEqual([
      `clipsift select: ${http.url}/pool/00000001.npz: HTTP 403 Forbidden`,
    ]);
    // And a --metadata file: its name in the message, never its query.
    const badMeta = await cli([
      'select',
      scores,
      '--metadata',
      `${http.url}/meta/00000000.parquet?X-Amz-Signature=ffffffff`,
      '--top',
      'sim:0.5',
      '--out',
      join(tempDir(), 'subset.npy'),
    ]);
    expect(badMeta.code).toBe(1);
    expect(badMeta.stderr.trim().split('\n')).toEqual([
      `clipsift select: ${http.url}/meta/00000000.parquet: HTTP 403 Forbidden`,
    ]);
  });

  it('prints the --dry-run plan with each signed URL as its path and ?…, never its query', async () => {
    const plan = await cli([
      'select',
      signedUrl('/scores/00000000.scores.parquet'),
      '--given-uids',
      signedUrl('/a.npy'),
      '--image-based',
      '--embeddings',
      signedUrl('/pool/00000000.parquet'),
      `--image-based-target=${signedUrl('/target.npy')}`,
      '--image-based-centroids',
      signedUrl('/centroids.npy'),
      '--out',
      join(tempDir(), 'subset.npy'),
      '--dry-run',
    ]);
    expect(plan.code, plan.stderr).toBe(0);
    expect(plan.stdout + plan.stderr).not.toContain('X-Amz');
    expect(plan.stdout).toContain(`'${http.url}/scores/00000000.scores.parquet?…' --given-uids '${http.url}/a.npy?…'`);
    expect(plan.stdout).toContain(`'--image-based-target=${http.url}/target.npy?…'`);
    expect(plan.stdout).toContain(
      `centroid of ${http.url}/centroids.npy?… is the nearest of some image of ${http.url}/target.npy?…`,
    );
  });

  it('combines signed subset files as the local ones, naming them without their queries', async () => {
    for (const operation of ['union', 'intersect']) {
      const localOut = join(tempDir(), 'c.npy');
      const local = await cli(['subset', operation, ...subsets, '--out', localOut]);
      expect(local.code, local.stderr).toBe(0);
      const signedOut = join(tempDir(), 'c.npy');
      const from = http.log.length;
      const signed = await cli(['subset', operation, signedUrl('/a.npy'), signedUrl('/b.npy'), '--out', signedOut]);
      expect(signed.stderr).toBe('');
      expect(signed.code).toBe(0);
      expect(readFileSync(signedOut)).toEqual(readFileSync(localOut));
      const named = (text: string, out: string, a: string, b: string) =>
        text.replaceAll(out, '<out>').replaceAll(a, '<a>').replaceAll(b, '<b>');
      expect(named(signed.stdout, signedOut, `${http.url}/a.npy`, `${http.url}/b.npy`)).toEqual(
        named(local.stdout, localOut, subsets[0]!, subsets[1]!),
      );
      expect(signed.stdout).not.toContain('X-Amz');
      allSigned(from);
    }
    const refused = await cli([
      'subset',
      'union',
      signedUrl('/a.npy'),
      `${http.url}/b.npy?X-Amz-Signature=ffffffff`,
      '--out',
      join(tempDir(), 'c.npy'),
    ]);
    expect(refused.code).toBe(1);
    expect(refused.stderr.trim().split('\n')).toEqual([`clipsift subset: ${http.url}/b.npy: HTTP 403 Forbidden`]);
  });
});
