/**
 * The demo page reading a pool and a target from URLs in real Chromium, against the command line:
 * a local server on 127.0.0.1 (test/io/servers.ts, which honours Range) with CORS headers serves the
 * files the CLI scores from disk; the page's scores, counts and subset.npy equal `clipsift score
 * --precision i16` + `clipsift select` bit for bit. A missing URL, a server without CORS and one that
 * hides Content-Range end in one line naming the URL and what the server must send.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { createEngine, deriveSeed } from 'clipsift';
import { encodeNpy } from '../../src/io/npy.js';
import { generateSamplePool } from '../../src/sample/pool.js';
import { makeDataCompDir, readScoreFile, runChild, writeTarget, BIN } from '../cli/helpers.js';
import { writeInputCases } from '../cli/input-cases.js';
import { startRangeServer, type Cors, type RangeServer } from '../io/servers.js';
import { launchChromium } from './browser.js';
import { scoreAsThePage } from './cli.js';
import { startServeDemo, type RunningDemo } from './serve.js';

let browser: Browser;
let demo: RunningDemo;
const servers: RangeServer[] = [];
const work = mkdtempSync(join(tmpdir(), 'clipsift-web-url-'));

beforeAll(async () => {
  browser = await launchChromium();
  demo = await startServeDemo();
});
afterAll(async () => {
  await browser?.close();
  await demo?.stop();
  for (const server of servers) await server.close();
});

/**
 * A Range server on 127.0.0.1 over every file in `dir` (by name), stopped in teardown; with `signed`,
 * each file answers only GETs carrying its own query (signedQuery), as a GET-presigned S3 object does.
 */
async function serve(dir: string, cors: Cors, signed = false): Promise<RangeServer> {
  const files: Record<string, Uint8Array> = {};
  for (const name of readdirSync(dir)) files[`/pool/${name}`] = new Uint8Array(readFileSync(join(dir, name)));
  const signatures = signed ? Object.fromEntries(Object.keys(files).map((path) => [path, signedQuery(path)])) : {};
  const server = await startRangeServer(files, { cors, signed: signatures });
  servers.push(server);
  return server;
}

/** A presigned URL's query for `path`: what a signing server gives out, a different one per file. */
function signedQuery(path: string): string {
  const signature = createHash('sha256').update(path).digest('hex');
  return `?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Expires=600&X-Amz-SignedHeaders=host&X-Amz-Signature=${signature}`;
}

async function settle(page: Page): Promise<string> {
  await page.waitForSelector('body[data-state="ready"], body[data-state="error"]', { timeout: 120_000 });
  return (await page.getAttribute('body', 'data-state'))!;
}

async function download(page: Page, button: string): Promise<Uint8Array> {
  const [file] = await Promise.all([page.waitForEvent('download'), page.click(button)]);
  return new Uint8Array(readFileSync((await file.path())!));
}

/** A score column of the page's CSV download, as float32 bit patterns. */
function csvColumnBits(csv: string, column: string): Uint32Array {
  const [header, ...lines] = csv.trimEnd().split('\r\n');
  const index = header!.split(',').indexOf(column);
  return new Uint32Array(Float32Array.from(lines.map((line) => Number(line.split(',')[index]))).buffer);
}

/**
 * What the page must match: `clipsift score` (i16, NormSim against `target`) into `<work>/<prefix>scores`,
 * then the paper's `clipsift select` into `<work>/<prefix>subset.npy`, with select's --json summary.
 */
async function scoreThenSelect(inputs: string[], target: string, prefix: string) {
  const scores = join(work, `${prefix}scores`);
  const scored = await scoreAsThePage(inputs, scores, ['--target', target]);
  expect(scored.code, scored.stderr).toBe(0);
  const subsetPath = join(work, `${prefix}subset.npy`);
  const selected = await runChild(process.execPath, [
    BIN,
    'select',
    scores,
    '--top',
    'negclip_loss:0.3',
    '--top',
    'normsim_inf:0.2',
    '--out',
    subsetPath,
    '--json',
  ]);
  expect(selected.code, selected.stderr).toBe(0);
  const cli = JSON.parse(selected.stdout) as { keptRows: number; steps: { kept: number }[] };
  return { scores, subsetPath, cli };
}

/**
 * The page, at its default sliders (the fractions scoreThenSelect gives clipsift select), against the CLI:
 * its CSV columns bit for bit against the score files of `shards` in order, its kept and per-step counts
 * against select's summary, and its subset download byte for byte against select's file.
 */
async function expectAsScoreThenSelect(
  page: Page,
  { scores, subsetPath, cli }: Awaited<ReturnType<typeof scoreThenSelect>>,
  shards: string[],
): Promise<void> {
  const csv = new TextDecoder().decode(await download(page, '#download-csv'));
  const want = [];
  for (const shard of shards) want.push(...(await readScoreFile(join(scores, `${shard}.scores.parquet`))).rows);
  for (const column of ['clip_score', 'negclip_loss', 'normsim_inf']) {
    const values = Float32Array.from(want, (row) => row[column] as number);
    expect(csvColumnBits(csv, column), column).toEqual(new Uint32Array(values.buffer));
  }
  expect(Number(await page.getAttribute('#kept-count', 'data-value'))).toBe(cli.keptRows);
  expect(
    await page.$$eval('#steps li', (items) => items.map((item) => Number((item as HTMLElement).dataset.kept))),
  ).toEqual(cli.steps.map((step) => step.kept));
  expect(Buffer.from(await download(page, '#download-subset')).equals(readFileSync(subsetPath))).toBe(true);
}

describe('browser demo on a pool at a URL', () => {
  it('scores DataComp shards and a target from ?pool= and ?target= like clipsift score, and selects like clipsift select', async () => {
    const { dir } = makeDataCompDir([
      { name: 'shard-00000', rows: 300, seed: 41 },
      { name: 'shard-00001', rows: 211, seed: 42, compressed: true },
    ]);
    writeTarget(join(dir, 'target.npy'), 30, 768, 43);
    const reference = await scoreThenSelect(
      [join(dir, 'shard-00000.parquet'), join(dir, 'shard-00001.parquet')],
      join(dir, 'target.npy'),
      '',
    );

    const server = await serve(dir, 'full');
    const page = await browser.newPage({ viewport: { width: 1360, height: 900 } });
    // The first shard by its .parquet alone (its .npz is found beside it), the second by both files.
    const query = new URLSearchParams([
      ['simd', 'baseline'],
      ['pool', `${server.url}/pool/shard-00000.parquet`],
      ['pool', `${server.url}/pool/shard-00001.parquet`],
      ['pool', `${server.url}/pool/shard-00001.npz`],
      ['target', `${server.url}/pool/target.npy`],
    ]);
    await page.goto(`${demo.url}?${query}`);
    expect(await settle(page), (await page.textContent('#error')) ?? '').toBe('ready');
    expect(await page.textContent('#normsim-note')).toContain(`${server.url}/pool/target.npy: 30 rows × 768`);

    await expectAsScoreThenSelect(page, reference, ['shard-00000', 'shard-00001']);
    // Read by ranges: no request asked for a whole file without a Range.
    expect(server.log.filter((entry) => entry.method === 'GET' && entry.range === undefined)).toEqual([]);
    await page.close();
  });

  it('scores a DataComp shard and a target at signed URLs (a query on every GET, names from the path), and refuses s3://', async () => {
    const { dir } = makeDataCompDir([{ name: 'shard-00000', rows: 150, seed: 51 }]);
    writeTarget(join(dir, 'target.npy'), 20, 768, 52);
    const reference = await scoreThenSelect([dir], join(dir, 'target.npy'), 'signed-');

    const server = await serve(dir, 'full', true);
    const signedUrl = (name: string) => `${server.url}/pool/${name}${signedQuery(`/pool/${name}`)}`;
    const page = await browser.newPage();
    const query = new URLSearchParams([
      ['simd', 'baseline'],
      ['pool', signedUrl('shard-00000.parquet')],
      ['pool', signedUrl('shard-00000.npz')],
      ['target', signedUrl('target.npy')],
    ]);
    await page.goto(`${demo.url}?${query}`);
    expect(await settle(page), (await page.textContent('#error')) ?? '').toBe('ready');
    // The page names the target by its path: the signature is a credential.
    expect(await page.textContent('#normsim-note')).toBe(
      `NormSim target: ${server.url}/pool/target.npy: 20 rows × 768.`,
    );
    await expectAsScoreThenSelect(page, reference, ['shard-00000']);
    // Every request was a ranged GET carrying its file's own query (the server refuses anything else).
    const requests = server.log.filter((entry) => entry.method !== 'OPTIONS');
    expect(requests.length).toBeGreaterThan(3);
    for (const entry of requests) {
      expect(entry, entry.path).toMatchObject({ method: 'GET', query: signedQuery(entry.path) });
      expect(entry.range, entry.path).toMatch(/^bytes=\d+-\d+$/);
    }

    // The .parquet's signed URL alone: its .npz cannot be found by name, and the line says what to give.
    const tryUrl = async (url: string): Promise<string> => {
      await page.fill('#target-url', '');
      await page.fill('#pool-url', url);
      await page.click('#url-button');
      expect(await settle(page), url).toBe('error');
      const message = (await page.textContent('#error')) ?? '';
      expect(message.split('\n'), message).toHaveLength(1);
      return message;
    };
    expect(await tryUrl(signedUrl('shard-00000.parquet'))).toBe(
      `${server.url}/pool/shard-00000.npz: HTTP 403 Forbidden; it was not given, and a signed URL reads only its own file: give this file's signed URL too`,
    );
    // s3:// needs AWS credentials a page must not hold: one line saying so and what to give instead.
    expect(await tryUrl('s3://bucket/pool/shard-00000.parquet')).toBe(
      "s3://bucket/pool/shard-00000.parquet: the page does not read s3:// URLs: that needs AWS credentials to sign requests, which a web page must not hold; give the file's presigned https:// URL (aws s3 presign <s3 URL>), or its https:// URL if the bucket is public",
    );
    await page.close();
  });

  it('scores a plain .npy pair typed into the URL field like clipsift score', async () => {
    const pool = generateSamplePool({ rows: 400, seed: 9 });
    const dir = mkdtempSync(join(work, 'pair-'));
    writeFileSync(join(dir, 'pairs_img.npy'), encodeNpy(pool.image.data, [pool.image.rows, pool.image.dim]));
    writeFileSync(join(dir, 'pairs_txt.npy'), encodeNpy(pool.text.data, [pool.text.rows, pool.text.dim]));
    const engine = await createEngine({ threads: 1, simd: 'baseline', precision: 'i16' });
    const want = {
      clip_score: await engine.clipScore(pool.image, pool.text),
      negclip_loss: await engine.negClipLoss(pool.image, pool.text, {
        batchSize: 32768,
        temperature: 0.01,
        repeats: 10,
        seed: deriveSeed(0, 'pairs_img'),
      }),
    };
    await engine.close();
    const server = await serve(dir, 'full');
    const page = await browser.newPage();
    await page.goto(`${demo.url}?simd=baseline`);
    await page.fill('#pool-url', `${server.url}/pool/pairs_img.npy ${server.url}/pool/pairs_txt.npy`);
    await page.click('#url-button');
    expect(await settle(page), (await page.textContent('#error')) ?? '').toBe('ready');
    const csv = new TextDecoder().decode(await download(page, '#download-csv'));
    for (const [column, values] of Object.entries(want))
      expect(csvColumnBits(csv, column), column).toEqual(new Uint32Array(values.buffer));
    await page.close();
  });

  it('scores each input case clipsift score takes, given as URLs, as clipsift score does, and refuses the rest with its message', async () => {
    // The cases test/cli/score-inputs.test.ts gives the CLI as paths, here as URLs of the same files.
    const cases = writeInputCases(join(work, 'inputs'));
    const page = await browser.newPage();
    await page.goto(`${demo.url}?simd=baseline`);
    for (const input of cases) {
      const server = await serve(input.dir, 'full');
      const base = `${server.url}/pool`;
      const out = join(work, `inputs-scores-${cases.indexOf(input)}`);
      const cli = await scoreAsThePage(input.inputs, out);
      await page.fill('#pool-url', input.inputs.map((path) => path.replace(input.dir, base)).join(' '));
      await page.click('#url-button');
      const state = await settle(page);
      if (input.error) {
        expect(cli.code, input.title).toBe(1);
        // The same one line, naming the URLs where the CLI names the paths.
        expect(`clipsift score: ${await page.textContent('#error')}\n`, input.title).toBe(
          cli.stderr.split(`${input.dir}/`).join(`${base}/`),
        );
        continue;
      }
      expect(cli.code, `${input.title}: ${cli.stderr}`).toBe(0);
      expect(state, `${input.title}: ${await page.textContent('#error')}`).toBe('ready');
      const scores = await readScoreFile(join(out, `${input.shard}.scores.parquet`));
      const csv = new TextDecoder().decode(await download(page, '#download-csv'));
      for (const column of ['clip_score', 'negclip_loss']) {
        const want = Float32Array.from(scores.rows, (row) => row[column] as number);
        expect(csvColumnBits(csv, column), `${input.title}: ${column}`).toEqual(new Uint32Array(want.buffer));
      }
    }
    await page.close();
  });

  it('names the URL on a 404, on a server without CORS, and on one that hides Content-Range', async () => {
    const { dir } = makeDataCompDir([{ name: 'shard', rows: 40, seed: 44 }]);
    const page = await browser.newPage();
    await page.goto(`${demo.url}?simd=baseline`);
    const tryUrl = async (url: string): Promise<string> => {
      await page.fill('#pool-url', url);
      await page.click('#url-button');
      expect(await settle(page), url).toBe('error');
      const message = (await page.textContent('#error')) ?? '';
      expect(message.split('\n'), message).toHaveLength(1);
      return message;
    };
    const open = await serve(dir, 'full');
    expect(await tryUrl(`${open.url}/pool/missing.parquet`)).toBe(
      `${open.url}/pool/missing.parquet: no such file or directory`,
    );
    // The target's 404 names the target URL.
    await page.fill('#target-url', `${open.url}/pool/no-target.npy`);
    expect(await tryUrl(`${open.url}/pool/shard.parquet`)).toBe(
      `${open.url}/pool/no-target.npy: no such file (HTTP 404)`,
    );
    await page.fill('#target-url', '');

    const closed = await serve(dir, 'none');
    const refused = await tryUrl(`${closed.url}/pool/shard.parquet`);
    expect(refused).toMatch(new RegExp(`^${closed.url}/pool/shard\\.parquet: failed after 3 attempts; `));
    expect(refused).toContain('the server must send Access-Control-Allow-Origin');
    expect(refused).toContain('expose Content-Range');

    const hiding = await serve(dir, 'origin-only');
    const hidden = await tryUrl(`${hiding.url}/pool/shard.parquet`);
    expect(hidden).toMatch(
      new RegExp(
        `^${hiding.url}/pool/shard\\.(parquet|npz): the server answers ranged reads but hides their Content-Range`,
      ),
    );

    // The page stays usable: the same shard from the server with CORS scores.
    expect(await page.isDisabled('#url-button')).toBe(false);
    await page.fill('#pool-url', `${open.url}/pool/shard.parquet`);
    await page.click('#url-button');
    expect(await settle(page), (await page.textContent('#error')) ?? '').toBe('ready');
    expect(
      Number((await page.getAttribute('#pool-count', 'data-value')) ?? (await page.textContent('#pool-count'))),
    ).toBe(40);
    await page.close();
  });
});
