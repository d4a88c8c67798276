/**
 * The browser demo end to end in real Chromium, against the command line as the reference:
 *
 * - the sample pool: the page's kept counts after moving the sliders equal what `clipsift select`
 *   reports for the same fractions over the sample's scores computed in Node (the path `clipsift demo`
 *   takes), its subset.npy download is byte-identical to the CLI's, and its score table equals the
 *   Node engine's bit for bit;
 * - dropped DataComp files plus a target: the same against `clipsift score` + `clipsift select`;
 * - without cross-origin isolation it still works, on one thread, and says so.
 *
 * Chromium must be installed (apt-get install -y chromium): a missing browser fails the suite.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { parquetReadObjects } from 'hyparquet';
import { createEngine, deriveSeed } from 'clipsift';
import { encodeNpy } from '../../src/io/npy.js';
import { writeParquetTable } from '../../src/io/parquet.js';
import { generateSamplePool } from '../../src/sample/pool.js';
import { scoreSamplePool } from '../../src/sample/demo.js';
import { makeDataCompDir, readScoreFile, runChild, writeTarget, BIN } from '../cli/helpers.js';
import { launchChromium } from './browser.js';
import { startServeDemo, type RunningDemo } from './serve.js';

let browser: Browser;
let demo: RunningDemo;
const work = mkdtempSync(join(tmpdir(), 'clipsift-web-'));

beforeAll(async () => {
  [demo, browser] = await Promise.all([startServeDemo(), launchChromium()]);
});
afterAll(async () => {
  await browser?.close();
  await demo?.stop();
});

interface CliSelection {
  keptRows: number;
  uids: number;
  steps: { column: string; kept: number }[];
  subset: Uint8Array;
}

/** `clipsift select <score files> --top negclip_loss:a --top <normsim>:b --json`, and the subset it wrote. */
async function cliSelect(
  scores: string,
  normsimColumn: string,
  negclip: number,
  normsim: number,
): Promise<CliSelection> {
  const out = join(work, `subset-${Math.random().toString(36).slice(2)}.npy`);
  const result = await runChild(process.execPath, [
    BIN,
    'select',
    scores,
    '--top',
    `negclip_loss:${negclip}`,
    '--top',
    `${normsimColumn}:${normsim}`,
    '--out',
    out,
    '--json',
  ]);
  expect(result.code, result.stderr).toBe(0);
  const summary = JSON.parse(result.stdout) as Omit<CliSelection, 'subset'>;
  return { ...summary, subset: new Uint8Array(readFileSync(out)) };
}

/** Moves a range slider with the keyboard, as a user would, to `percent`. */
async function moveSlider(page: Page, selector: string, percent: number): Promise<void> {
  const current = Number(await page.inputValue(selector));
  await page.focus(selector);
  const key = percent > current ? 'ArrowRight' : 'ArrowLeft';
  for (let i = 0; i < Math.abs(percent - current); i++) await page.keyboard.press(key);
  expect(Number(await page.inputValue(selector))).toBe(percent);
}

async function waitForScores(page: Page): Promise<void> {
  await page.waitForSelector('body[data-state="ready"], body[data-state="error"]', { timeout: 120_000 });
  const state = await page.getAttribute('body', 'data-state');
  if (state !== 'ready') throw new Error(`the page reports an error: ${await page.textContent('#error')}`);
}

async function download(page: Page, button: string): Promise<Uint8Array> {
  const [file] = await Promise.all([page.waitForEvent('download'), page.click(button)]);
  return new Uint8Array(readFileSync((await file.path())!));
}

/** The page's counts: total kept, and kept after each step. */
async function pageCounts(page: Page): Promise<{ kept: number; steps: number[] }> {
  const kept = Number(await page.getAttribute('#kept-count', 'data-value'));
  const steps = await page.$$eval('#steps li', (items) =>
    items.map((item) => Number((item as HTMLElement).dataset.kept)),
  );
  return { kept, steps };
}

/** Column values of the page's CSV download, as float32 bit patterns. */
function csvColumnBits(csv: string, column: string): Uint32Array {
  const [header, ...lines] = csv.trimEnd().split('\r\n');
  const index = header!.split(',').indexOf(column);
  // Captions may hold commas, but they come after the score columns, so the first fields split cleanly.
  const values = Float32Array.from(lines.map((line) => Number(line.split(',')[index])));
  return new Uint32Array(values.buffer);
}

describe('browser demo on the built-in sample pool', () => {
  it('counts, subset.npy and scores equal the command line for moved sliders', async () => {
    // The reference: the sample's scores in Node (as `clipsift demo` computes them), written as a score
    // file, selected by the real `clipsift select`.
    const pool = generateSamplePool();
    // Precision i16 (the page's toggle): its integer GEMM gives the same bits in Chromium and Node.
    const engine = await createEngine({ threads: 1, simd: 'baseline', precision: 'i16' });
    const scores = await scoreSamplePool(engine, pool);
    await engine.close();
    const scoreFile = join(work, 'sample.scores.parquet');
    writeFileSync(scoreFile, writeParquetTable({ columns: { uid: pool.uids, ...scores } }));

    const page = await browser.newPage({ viewport: { width: 1360, height: 900 } });
    const pageErrors: string[] = [];
    page.on('pageerror', (error) => pageErrors.push(error.message));
    // Baseline SIMD: the build Node 20 runs, so the page's scores must equal the CLI's bit for bit.
    await page.goto(`${demo.url}?simd=baseline`);
    expect(await page.textContent('#isolation-badge')).toContain('cross-origin isolated');
    await page.selectOption('#precision', 'i16');
    await page.click('#sample-button');
    await waitForScores(page);
    expect(await page.textContent('#engine-badge')).toMatch(/^\d+ threads? · baseline SIMD · i16$/);

    await moveSlider(page, '#negclip-slider', 45);
    await moveSlider(page, '#normsim-slider', 15);
    const cli = await cliSelect(scoreFile, 'normsim_inf', 0.45, 0.15);
    const counts = await pageCounts(page);
    expect(counts.kept).toBe(cli.keptRows);
    expect(counts.steps).toEqual(cli.steps.map((step) => step.kept));
    expect(await page.textContent('#pool-count')).toBe(pool.uids.length.toLocaleString('en-US'));

    const subset = await download(page, '#download-subset');
    expect(Buffer.from(subset).equals(Buffer.from(cli.subset))).toBe(true);

    const csv = new TextDecoder().decode(await download(page, '#download-csv'));
    for (const [column, values] of Object.entries(scores)) {
      expect(csvColumnBits(csv, column), column).toEqual(
        new Uint32Array(values.buffer, values.byteOffset, values.length),
      );
    }

    const parquet = await download(page, '#download-parquet');
    const rows = (await parquetReadObjects({
      file: parquet.buffer.slice(parquet.byteOffset, parquet.byteOffset + parquet.byteLength) as ArrayBuffer,
    })) as Record<string, unknown>[];
    expect(rows.map((row) => row.uid)).toEqual(pool.uids);
    for (const [column, values] of Object.entries(scores)) {
      expect(
        Float32Array.from(rows, (row) => row[column] as number),
        column,
      ).toEqual(values);
    }
    expect(rows.reduce((kept, row) => kept + (row.kept as number), 0)).toBe(cli.keptRows);

    // NormSim with p = 2 instead: the sample has both columns, so the page switches without rescoring.
    await page.selectOption('#normsim-p', '2');
    expect(await page.textContent('#normsim-name')).toBe('NormSim₂');
    const cli2 = await cliSelect(scoreFile, 'normsim_2', 0.45, 0.15);
    expect((await pageCounts(page)).steps).toEqual(cli2.steps.map((step) => step.kept));
    expect(Buffer.from(await download(page, '#download-subset')).equals(Buffer.from(cli2.subset))).toBe(true);
    await page.selectOption('#normsim-p', 'inf');

    // Show the dropped rows sorted by CLIPScore for the screenshot: the generic captions CLIPScore
    // would have kept are at the top.
    await page.click('#tab-dropped');
    await page.click('th:has-text("clip_score")');
    mkdirSync('test-results', { recursive: true });
    await page.screenshot({ path: 'test-results/web-demo.png', fullPage: true });
    expect(pageErrors).toEqual([]);
    await page.close();
  });
});

describe('browser demo with the default SIMD choice', () => {
  it('uses relaxed SIMD in Chromium, with scores within float32 rounding of the baseline build', async () => {
    const pool = generateSamplePool();
    const engine = await createEngine({ threads: 1, simd: 'baseline' });
    const scores = await scoreSamplePool(engine, pool);
    await engine.close();

    const page = await browser.newPage();
    await page.goto(demo.url);
    await page.click('#sample-button');
    await waitForScores(page);
    expect(await page.textContent('#engine-badge')).toMatch(/relaxed SIMD · f32$/);
    const csv = new TextDecoder().decode(await download(page, '#download-csv'));
    for (const [column, values] of Object.entries(scores)) {
      const got = new Float32Array(csvColumnBits(csv, column).buffer);
      let worst = 0;
      for (let i = 0; i < values.length; i++)
        worst = Math.max(worst, Math.abs(got[i]! - values[i]!) / Math.max(1, Math.abs(values[i]!)));
      // Fused multiply-adds round differently; the engine's float64-reference bounds are 2e-5.
      expect(worst, column).toBeLessThan(2e-5);
    }
    await page.close();
  });
});

describe('browser demo on dropped DataComp files', () => {
  it('scores shards and a target like clipsift score, and selects like clipsift select', async () => {
    const { dir } = makeDataCompDir([
      { name: 'shard-00000', rows: 300, seed: 21 },
      { name: 'shard-00001', rows: 257, seed: 22, compressed: true },
    ]);
    const target = join(work, 'target.npy');
    writeTarget(target, 40, 768, 23);
    const scoresDir = join(work, 'scores');
    const scored = await runChild(process.execPath, [
      BIN,
      'score',
      dir,
      '--out',
      scoresDir,
      '--target',
      target,
      '--threads',
      '1',
    ]);
    expect(scored.code, scored.stderr).toBe(0);

    const page = await browser.newPage({ viewport: { width: 1360, height: 900 } });
    await page.goto(`${demo.url}?simd=baseline`);
    await page.setInputFiles(
      '#pool-input',
      readdirSync(dir).map((name) => join(dir, name)),
    );
    await page.setInputFiles('#target-input', target);
    await page.click('#score-button');
    await waitForScores(page);

    await moveSlider(page, '#negclip-slider', 60);
    await moveSlider(page, '#normsim-slider', 35);
    const cli = await cliSelect(scoresDir, 'normsim_inf', 0.6, 0.35);
    const counts = await pageCounts(page);
    expect(counts.kept).toBe(cli.keptRows);
    expect(counts.steps).toEqual(cli.steps.map((step) => step.kept));
    const subset = await download(page, '#download-subset');
    expect(Buffer.from(subset).equals(Buffer.from(cli.subset))).toBe(true);
    await page.close();
  });
});

describe('browser demo on dropped clip-retrieval files', () => {
  it('scores real OpenAI CLIP embeddings dropped as loose files like clipsift score does', async () => {
    // The clip-retrieval folder for the CLI; the same three files dropped flat on the page.
    const fixtures = fileURLToPath(new URL('../fixtures/real/openai-b32-fashion-9pairs/', import.meta.url));
    const folder = join(work, 'clip-retrieval');
    const placed = { img_emb: 'img_emb_0.npy', text_emb: 'text_emb_0.npy', metadata: 'metadata_0.parquet' };
    for (const [sub, name] of Object.entries(placed)) {
      mkdirSync(join(folder, sub), { recursive: true });
      copyFileSync(join(fixtures, name), join(folder, sub, name));
    }
    const scoresDir = join(work, 'clip-retrieval-scores');
    const scored = await runChild(process.execPath, [BIN, 'score', folder, '--out', scoresDir, '--threads', '1']);
    expect(scored.code, scored.stderr).toBe(0);
    const scoreFile = readdirSync(scoresDir).find((name) => name.endsWith('.scores.parquet'))!;
    const cliScores = await readScoreFile(join(scoresDir, scoreFile));

    const page = await browser.newPage({ viewport: { width: 1360, height: 900 } });
    await page.goto(`${demo.url}?simd=baseline`);
    await page.setInputFiles(
      '#pool-input',
      Object.values(placed).map((name) => join(fixtures, name)),
    );
    await page.click('#score-button');
    await waitForScores(page);
    const csv = new TextDecoder().decode(await download(page, '#download-csv'));
    for (const column of ['clip_score', 'negclip_loss']) {
      const want = Float32Array.from(cliScores.rows, (row) => row[column] as number);
      expect(csvColumnBits(csv, column), column).toEqual(new Uint32Array(want.buffer));
    }
    // Captions come from the metadata parquet (all 9 rows in the table once everything is kept);
    // without uids there is no subset.npy to offer.
    await moveSlider(page, '#negclip-slider', 100);
    expect(await page.getAttribute('#kept-count', 'data-value')).toBe('9');
    expect(await page.textContent('#rows-table tbody')).toContain('a black crop top with a round neckline');
    expect(await page.isDisabled('#download-subset')).toBe(true);
    expect(await page.isDisabled('#normsim-slider')).toBe(true);
    await page.close();
  });
});

describe('browser demo on a plain pair of .npy files', () => {
  it("scores them as one shard with clipsift score's parameters", async () => {
    const pool = generateSamplePool({ rows: 500, seed: 7 });
    const files = { 'pairs_img.npy': pool.image, 'pairs_txt.npy': pool.text };
    for (const [name, m] of Object.entries(files)) writeFileSync(join(work, name), encodeNpy(m.data, [m.rows, m.dim]));
    const engine = await createEngine({ threads: 1, simd: 'baseline' });
    const want = {
      clip_score: await engine.clipScore(pool.image, pool.text),
      // The shard is named after the image file; its seed derives from that name, as in clipsift score.
      negclip_loss: await engine.negClipLoss(pool.image, pool.text, {
        batchSize: 32768,
        temperature: 0.01,
        repeats: 10,
        seed: deriveSeed(0, 'pairs_img'),
      }),
    };
    await engine.close();

    const page = await browser.newPage();
    await page.goto(`${demo.url}?simd=baseline`);
    await page.setInputFiles(
      '#pool-input',
      Object.keys(files).map((name) => join(work, name)),
    );
    await page.click('#score-button');
    await waitForScores(page);
    const csv = new TextDecoder().decode(await download(page, '#download-csv'));
    for (const [column, values] of Object.entries(want))
      expect(csvColumnBits(csv, column), column).toEqual(new Uint32Array(values.buffer));
    expect(Number(await page.getAttribute('#kept-count', 'data-value'))).toBe(Math.floor(500 * 0.3));
    await page.close();
  });
});

describe('browser demo on broken files', () => {
  it('names the file and the problem, then scores the next drop', async () => {
    const { dir } = makeDataCompDir([{ name: 'broken', rows: 50, seed: 31 }]);
    const npz = readFileSync(join(dir, 'broken.npz'));
    writeFileSync(join(dir, 'broken.npz'), npz.subarray(0, npz.length - 200)); // cut off the zip's central directory
    const page = await browser.newPage();
    await page.goto(`${demo.url}?simd=baseline`);
    await page.setInputFiles(
      '#pool-input',
      readdirSync(dir).map((name) => join(dir, name)),
    );
    await page.click('#score-button');
    await page.waitForSelector('body[data-state="error"]', { timeout: 60_000 });
    expect(await page.textContent('#error')).toMatch(/broken\.npz/);
    // The page stays usable: the sample still scores afterwards.
    await page.click('#sample-button');
    await waitForScores(page);
    expect(await page.isHidden('#error')).toBe(true);
    await page.close();
  });
});

describe('browser demo without cross-origin isolation', () => {
  it('scores on one thread and says so', async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    // Serve the same files without COOP/COEP, as a plain static host would.
    await page.route('**/*', async (route) => {
      const response = await route.fetch();
      const headers = { ...response.headers() };
      delete headers['cross-origin-opener-policy'];
      delete headers['cross-origin-embedder-policy'];
      await route.fulfill({ response, headers });
    });
    await page.goto(`${demo.url}?simd=baseline`);
    expect(await page.evaluate(() => globalThis.crossOriginIsolated)).toBe(false);
    expect(await page.textContent('#isolation-badge')).toContain('not cross-origin isolated');
    await page.click('#sample-button');
    await waitForScores(page);
    expect(await page.textContent('#engine-badge')).toBe('1 thread · baseline SIMD · f32');
    const pool = generateSamplePool();
    expect(Number(await page.getAttribute('#kept-count', 'data-value'))).toBe(Math.floor(pool.uids.length * 0.2));
    await context.close();
  });
});
