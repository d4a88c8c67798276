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
import { decodeSubsetFile } from '../../src/io/subset-file.js';
import { formatUid, uidCount } from '../../src/io/uid.js';
import { writeParquetTable } from '../../src/io/parquet.js';
import { generateSamplePool } from '../../src/sample/pool.js';
import { scoreSamplePool } from '../../src/sample/demo.js';
import { keepTop } from '../../src/select/steps.js';
import { makeDataCompDir, readScoreFile, runChild, writeTarget, BIN } from '../cli/helpers.js';
import { writeInputCases } from '../cli/input-cases.js';
import { launchChromium } from './browser.js';
import { scoreAsThePage } from './cli.js';
import { startServeDemo, type RunningDemo } from './serve.js';

let browser: Browser;
let demo: RunningDemo;
const work = mkdtempSync(join(tmpdir(), 'clipsift-web-'));

beforeAll(async () => {
  // The browser first: when it is missing the file fails at once, before a serve-demo child exists.
  browser = await launchChromium();
  demo = await startServeDemo();
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

/**
 * Counts, from now on, the jobs the page posts to its scoring worker and the sorts of a whole
 * column of the pool's scores on the page's thread (a `top` step over all rows sorts one; the
 * NormSim step sorts only the negCLIPLoss survivors, and the table sorts row indices).
 */
async function watchWork(page: Page): Promise<void> {
  await page.evaluate(() => {
    const rows = Number(document.getElementById('pool-count')!.textContent!.replaceAll(',', ''));
    const work = { scoreJobs: 0, poolSorts: 0 };
    (globalThis as unknown as { __work: typeof work }).__work = work;
    const post = Worker.prototype.postMessage;
    Worker.prototype.postMessage = function (this: Worker, ...args: unknown[]) {
      work.scoreJobs++;
      return post.apply(this, args as Parameters<typeof post>);
    };
    const sort = Float32Array.prototype.sort;
    Float32Array.prototype.sort = function (this: Float32Array, compare?: (a: number, b: number) => number) {
      if (this.length === rows) work.poolSorts++;
      return sort.call(this, compare);
    };
  });
}

async function readWork(page: Page): Promise<{ scoreJobs: number; poolSorts: number }> {
  return page.evaluate(() => ({
    ...(globalThis as unknown as { __work: { scoreJobs: number; poolSorts: number } }).__work,
  }));
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

    // No slider move scores again or sorts the pool beyond the negCLIPLoss step, once per negCLIPLoss move
    // (the kinds table's "CLIPScore alone" at the kept count included).
    await watchWork(page);
    await moveSlider(page, '#negclip-slider', 45);
    await moveSlider(page, '#normsim-slider', 15);
    expect(await readWork(page)).toEqual({ scoreJobs: 0, poolSorts: 45 - 30 });
    const cli = await cliSelect(scoreFile, 'normsim_inf', 0.45, 0.15);
    const counts = await pageCounts(page);
    expect(counts.kept).toBe(cli.keptRows);
    expect(counts.steps).toEqual(cli.steps.map((step) => step.kept));
    expect(await page.textContent('#pool-count')).toBe(pool.uids.length.toLocaleString('en-US'));

    const subset = await download(page, '#download-subset');
    expect(Buffer.from(subset).equals(Buffer.from(cli.subset))).toBe(true);

    // The kinds table: per planted kind, rows in the pool, kept, and kept by CLIPScore alone at the same
    // count, that last as select's keepTop keeps the top rows by clip_score (ties by uid) in Node.
    const byClip = keepTop(Uint32Array.from(pool.uids.keys()), scores.clip_score, cli.keptRows, (a, b) =>
      pool.uids[a]! < pool.uids[b]! ? -1 : pool.uids[a]! > pool.uids[b]! ? 1 : 0,
    ).rows;
    const countKinds = (rows: Iterable<number>) => {
      const counts = new Map<string, number>();
      for (const row of rows) counts.set(pool.kinds[row]!, (counts.get(pool.kinds[row]!) ?? 0) + 1);
      return counts;
    };
    const inPool = countKinds(pool.uids.keys());
    const alone = countKinds(byClip);
    // "kept here": the kinds of the rows whose uids are in the subset select wrote.
    const subsetUids = await decodeSubsetFile('subset.npy', cli.subset);
    const keptUidSet = new Set(Array.from({ length: uidCount(subsetUids) }, (_, i) => formatUid(subsetUids, i)));
    const kept = countKinds([...pool.uids.keys()].filter((row) => keptUidSet.has(pool.uids[row]!)));
    expect(keptUidSet.size).toBe(cli.keptRows);
    expect(
      await page.$$eval('#kinds-table tbody tr', (rows) =>
        rows.map((row) => [...row.querySelectorAll('td')].map((cell) => cell.textContent)),
      ),
    ).toEqual(
      [...inPool.keys()]
        .sort()
        .map((kind) => [kind, String(inPool.get(kind)), String(kept.get(kind) ?? 0), String(alone.get(kind) ?? 0)]),
    );

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
    // The page's default precision is i16 (README "Precision").
    const engine = await createEngine({ threads: 1, simd: 'baseline', precision: 'i16' });
    const scores = await scoreSamplePool(engine, pool);
    await engine.close();

    const page = await browser.newPage();
    await page.goto(demo.url);
    await page.click('#sample-button');
    await waitForScores(page);
    expect(await page.textContent('#engine-badge')).toMatch(/relaxed SIMD · i16$/);
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
    const scored = await scoreAsThePage([dir], scoresDir, ['--target', target]);
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

    // Sliders only re-select from the scores computed once: no job goes to the scoring worker, the
    // negCLIPLoss step runs once per negCLIPLoss move, and a NormSim move does not run it at all.
    await watchWork(page);
    await moveSlider(page, '#negclip-slider', 60);
    expect(await readWork(page)).toEqual({ scoreJobs: 0, poolSorts: 60 - 30 });
    await moveSlider(page, '#normsim-slider', 35);
    expect(await readWork(page)).toEqual({ scoreJobs: 0, poolSorts: 60 - 30 });
    const cli = await cliSelect(scoresDir, 'normsim_inf', 0.6, 0.35);
    const counts = await pageCounts(page);
    expect(counts.kept).toBe(cli.keptRows);
    expect(counts.steps).toEqual(cli.steps.map((step) => step.kept));
    const subset = await download(page, '#download-subset');
    expect(Buffer.from(subset).equals(Buffer.from(cli.subset))).toBe(true);

    // clipsift's own score files dropped to explore: the same selection without scoring again.
    await page.setInputFiles(
      '#pool-input',
      readdirSync(scoresDir).map((name) => join(scoresDir, name)),
    );
    await page.click('#score-button');
    await waitForScores(page);
    await moveSlider(page, '#negclip-slider', 60);
    await moveSlider(page, '#normsim-slider', 35);
    expect(await pageCounts(page)).toEqual({ kept: cli.keptRows, steps: cli.steps.map((step) => step.kept) });
    expect(Buffer.from(await download(page, '#download-subset')).equals(Buffer.from(cli.subset))).toBe(true);
    expect(await page.textContent('#normsim-note')).toContain('the target the score files were computed with');
    mkdirSync('test-results', { recursive: true });
    await page.screenshot({ path: 'test-results/web-score-files.png', fullPage: true });
    await page.close();
  });
});

describe('browser demo with a PyTorch .pt target', () => {
  it("reads DataComp's {'image_features': tensor} .pt as the target, scoring and selecting like clipsift score --target x.pt", async () => {
    const { dir } = makeDataCompDir([{ name: 'shard-00000', rows: 200, seed: 61 }]);
    // Written by torch.save (test/fixtures/torch/make_torch_fixtures.py): 5 × 512 float16 image features.
    const target = fileURLToPath(new URL('../fixtures/torch/in1k_b32.pt', import.meta.url));
    const scoresDir = join(work, 'scores-pt');
    const scored = await scoreAsThePage([dir], scoresDir, ['--arch', 'b32', '--target', target]);
    expect(scored.code, scored.stderr).toBe(0);

    const page = await browser.newPage({ viewport: { width: 1360, height: 900 } });
    await page.goto(`${demo.url}?simd=baseline`);
    await page.selectOption('#arch', 'b32');
    await page.setInputFiles(
      '#pool-input',
      readdirSync(dir).map((name) => join(dir, name)),
    );
    await page.setInputFiles('#target-input', target);
    await page.click('#score-button');
    await waitForScores(page);
    expect(await page.textContent('#normsim-note')).toContain('in1k_b32.pt: 5 rows × 512');
    await moveSlider(page, '#negclip-slider', 50);
    await moveSlider(page, '#normsim-slider', 25);
    const cli = await cliSelect(scoresDir, 'normsim_inf', 0.5, 0.25);
    expect(await pageCounts(page)).toEqual({ kept: cli.keptRows, steps: cli.steps.map((step) => step.kept) });
    expect(Buffer.from(await download(page, '#download-subset')).equals(Buffer.from(cli.subset))).toBe(true);
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
    const scored = await scoreAsThePage([folder], scoresDir);
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
    // Without uids there is no subset.npy: the page says so in view and offers the kept rows' keys,
    // which must be the rows with the top ⌊9·0.5⌋ negCLIPLoss of the CSV (ties cannot occur here).
    await moveSlider(page, '#negclip-slider', 50);
    expect(await page.isHidden('#download-subset')).toBe(true);
    expect(await page.isVisible('#no-uids-note')).toBe(true);
    const keys = new TextDecoder()
      .decode(await download(page, '#download-keys'))
      .trimEnd()
      .split('\n');
    const [header, ...lines] = csv.trimEnd().split('\r\n');
    const at = header!.split(',').indexOf('negclip_loss');
    const byScore = lines.map((line) => line.split(',')).sort((a, b) => Number(b[at]) - Number(a[at]));
    expect(keys.sort()).toEqual(
      byScore
        .slice(0, 4)
        .map((fields) => fields[0]!.replace(/^"|"$/g, ''))
        .sort(),
    );
    // Captions come from the metadata parquet (all 9 rows in the table once everything is kept).
    await moveSlider(page, '#negclip-slider', 100);
    expect(await page.getAttribute('#kept-count', 'data-value')).toBe('9');
    expect(await page.textContent('#rows-table tbody')).toContain('a black crop top with a round neckline');
    expect(await page.isDisabled('#normsim-slider')).toBe(true);
    // negCLIPLoss to enough digits to tell the 9 real rows apart (4 decimals showed -0.0000 for all).
    const negclip = await page.$$eval('#rows-table tbody tr', (rows) =>
      rows.map((row) => row.querySelectorAll('td.num')[1]!.textContent!),
    );
    expect(negclip).toHaveLength(9);
    expect(new Set(negclip).size).toBe(9);
    const want = Float32Array.from(cliScores.rows, (row) => row.negclip_loss as number);
    for (const text of negclip)
      expect([...want].some((v) => Math.abs(v - Number(text)) <= Math.abs(v) * 1e-4)).toBe(true);
    mkdirSync('test-results', { recursive: true });
    await page.screenshot({ path: 'test-results/web-clip-retrieval-keys.png', fullPage: true });
    await page.close();
  });
});

describe('browser demo on a plain pair of .npy files', () => {
  it("scores them as one shard with clipsift score's parameters", async () => {
    const pool = generateSamplePool({ rows: 500, seed: 7 });
    const files = { 'pairs_img.npy': pool.image, 'pairs_txt.npy': pool.text };
    for (const [name, m] of Object.entries(files)) writeFileSync(join(work, name), encodeNpy(m.data, [m.rows, m.dim]));
    const engine = await createEngine({ threads: 1, simd: 'baseline', precision: 'i16' });
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

describe('browser demo on the inputs clipsift score takes', () => {
  // The same files test/cli/score-inputs.test.ts gives the CLI (test/cli/input-cases.ts), dropped loose.
  const cases = writeInputCases(join(work, 'inputs'));

  it('scores each accepted case as clipsift score does, bit for bit, and refuses the rest with its message', async () => {
    const page = await browser.newPage();
    await page.goto(`${demo.url}?simd=baseline`);
    for (const input of cases) {
      const out = join(work, `inputs-scores-${cases.indexOf(input)}`);
      const cli = await scoreAsThePage(input.inputs, out);
      await page.setInputFiles('#pool-input', input.inputs);
      await page.click('#score-button');
      await page.waitForSelector('body[data-state="ready"], body[data-state="error"]', { timeout: 120_000 });
      if (input.error) {
        expect(cli.code, input.title).toBe(1);
        // The CLI names files by their paths, the page by their names in the drop.
        expect(cli.stderr.split(`${input.dir}/`).join(''), input.title).toBe(`clipsift score: ${input.error}\n`);
        expect(await page.getAttribute('body', 'data-state'), input.title).toBe('error');
        expect(await page.textContent('#error'), input.title).toBe(input.error);
        continue;
      }
      expect(cli.code, `${input.title}: ${cli.stderr}`).toBe(0);
      expect(await page.getAttribute('body', 'data-state'), input.title).toBe('ready');
      const scores = await readScoreFile(join(out, `${input.shard}.scores.parquet`));
      const csv = new TextDecoder().decode(await download(page, '#download-csv'));
      for (const column of ['clip_score', 'negclip_loss']) {
        const want = Float32Array.from(scores.rows, (row) => row[column] as number);
        expect(csvColumnBits(csv, column), `${input.title}: ${column}`).toEqual(new Uint32Array(want.buffer));
      }
    }
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

describe('browser demo page states', () => {
  it('keeps the rows table and its tab in agreement after re-scoring', async () => {
    const page = await browser.newPage({ viewport: { width: 1360, height: 900 } });
    await page.goto(`${demo.url}?simd=baseline`);
    await page.click('#sample-button');
    await waitForScores(page);
    await page.click('#tab-dropped');
    await page.click('#sample-button'); // score again with the Dropped tab open
    await waitForScores(page);
    const selected = await page.getAttribute('#tab-dropped', 'aria-selected');
    const dropped = Number((await page.textContent('#tab-dropped-count'))!.replace(/[(),]/g, ''));
    const pool = generateSamplePool();
    expect(dropped).toBe(pool.uids.length - Math.floor(pool.uids.length * 0.2));
    // The Dropped tab is still the open one, and the table under it pages through exactly its rows.
    expect(selected).toBe('true');
    expect(await page.textContent('#page-info')).toBe(`rows 1–20 of ${dropped.toLocaleString('en-US')}`);
    await page.click('#tab-kept');
    expect(await page.textContent('#page-info')).toBe(`rows 1–20 of ${Math.floor(pool.uids.length * 0.2)}`);
    mkdirSync('test-results', { recursive: true });
    await page.locator('#table-card').screenshot({ path: 'test-results/web-rescored-tabs.png' });

    // The scatter colours rows by the step that dropped them: 70 % by negCLIPLoss (30 % kept), then
    // 10 % more by NormSim (20 % kept); the sample's 4,000 points are all drawn.
    const scatter = await page.$eval('#scatter', (el) => ({ ...(el as HTMLElement).dataset }));
    const rows = pool.uids.length;
    expect(Number(scatter.firstStep)).toBe(rows - Math.floor(rows * 0.3));
    expect(Number(scatter.secondStep)).toBe(Math.floor(rows * 0.3) - Math.floor(rows * 0.2));
    expect(Number(scatter.kept)).toBe(Math.floor(rows * 0.2));
    // The page says what the sample's NormSim target is.
    expect(await page.textContent('#normsim-note')).toMatch(/^NormSim target: the sample's own target set: \d+ images/);
    await page.locator('#charts-card').screenshot({ path: 'test-results/web-scatter-steps.png' });

    // At 420 px the table fits the page width: the url column goes, the caption keeps its room.
    await page.setViewportSize({ width: 420, height: 900 });
    // The charts follow their boxes through a ResizeObserver, whose callbacks run after a layout: on a
    // loaded machine the first measure can come before them, so wait (bounded) for the page to settle.
    await page
      .waitForFunction(() => document.documentElement.scrollWidth <= 420, undefined, { timeout: 10_000 })
      .catch(() => undefined);
    expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(420);
    expect(await page.isHidden('#rows-table th.url')).toBe(true);
    const caption = await page.$eval('#rows-table td.caption', (el) => el.getBoundingClientRect().width);
    expect(caption).toBeGreaterThanOrEqual(100);
    await page.locator('#table-card').screenshot({ path: 'test-results/web-table-420.png' });
    await page.close();
  });

  it('fits histogram y-axis labels of 10,000 and more', async () => {
    // 30,000 rows, nearly all in one CLIPScore bin: that bin's count needs a 5-digit label.
    const rows = 30_000;
    const uids = Array.from({ length: rows }, (_, i) => i.toString(16).padStart(32, '0'));
    const clip = Float32Array.from({ length: rows }, (_, i) => (i < 200 ? i / 1000 : 0.3));
    const negclip = Float32Array.from({ length: rows }, (_, i) => -((i * 7919) % rows) / rows);
    const file = join(work, 'big.scores.parquet');
    writeFileSync(file, writeParquetTable({ columns: { uid: uids, clip_score: clip, negclip_loss: negclip } }));
    const page = await browser.newPage({ viewport: { width: 1360, height: 900 } });
    await page.goto(`${demo.url}?simd=baseline`);
    await page.setInputFiles('#pool-input', file);
    await page.click('#score-button');
    await waitForScores(page);
    const axis = await page.$eval('#hist-clip_score .uplot', (el) => ({ ...(el as HTMLElement).dataset }));
    // What "30,000" takes in the axis font, measured independently in the page.
    const needed = await page.evaluate(() => {
      const ctx = document.createElement('canvas').getContext('2d')!;
      ctx.font = '11px system-ui, sans-serif';
      return ctx.measureText('30,000').width;
    });
    expect(Number(axis.yLabelsWidth)).toBeGreaterThanOrEqual(needed - 0.5);
    expect(Number(axis.yAxisSize)).toBeGreaterThan(Number(axis.yLabelsWidth) + 10);
    expect(Number(await page.getAttribute('#kept-count', 'data-value'))).toBe(rows * 0.3);
    mkdirSync('test-results', { recursive: true });
    await page.locator('#charts-card').screenshot({ path: 'test-results/web-histogram-10k.png' });
    await page.close();
  });

  it('checks the target dim before scoring, names the file and clears the previous results', async () => {
    const { dir } = makeDataCompDir([{ name: 'dims', rows: 60, seed: 41 }]);
    const target = join(work, 'target-512.npy');
    writeTarget(target, 10, 512, 42);
    const page = await browser.newPage({ viewport: { width: 1360, height: 900 } });
    await page.goto(`${demo.url}?simd=baseline`);
    await page.click('#sample-button');
    await waitForScores(page);
    const phases: string[] = [];
    await page.exposeFunction('notePhase', (text: string) => phases.push(text));
    await page.evaluate(() => {
      const text = document.getElementById('progress-text')!;
      new MutationObserver(() =>
        (window as unknown as { notePhase(t: string): void }).notePhase(text.textContent ?? ''),
      ).observe(text, {
        childList: true,
        characterData: true,
        subtree: true,
      });
    });
    await page.setInputFiles(
      '#pool-input',
      readdirSync(dir).map((name) => join(dir, name)),
    );
    await page.setInputFiles('#target-input', target);
    await page.click('#score-button');
    await page.waitForSelector('body[data-state="error"]', { timeout: 60_000 });
    expect(await page.textContent('#error')).toBe(
      'target-512.npy: target has dim 512 but dims.npz:l14_img.npy has dim 768; drop a target embedded with the same model',
    );
    expect(phases.some((phase) => /CLIPScore|negCLIPLoss|NormSim/.test(phase))).toBe(false);
    for (const card of ['#select-card', '#charts-card', '#table-card'])
      expect(await page.isHidden(card), card).toBe(true);
    mkdirSync('test-results', { recursive: true });
    await page.screenshot({ path: 'test-results/web-target-dim.png', fullPage: true });
    await page.close();
  });

  it('names a lone .npz or .txt and says what to drop with it', async () => {
    const { dir } = makeDataCompDir([{ name: 'alone', rows: 20, seed: 43 }]);
    writeFileSync(join(work, 'notes.txt'), 'not embeddings');
    const page = await browser.newPage();
    await page.goto(`${demo.url}?simd=baseline`);
    for (const [file, message] of [
      [
        join(dir, 'alone.npz'),
        'alone.npz: is one .npz on its own: give it with its DataComp metadata alone.parquet beside it, or give an image and a text embedding file together',
      ],
      [
        join(work, 'notes.txt'),
        'notes.txt: is not an embedding or metadata file: give DataComp <name>.parquet + <name>.npz, clip-retrieval img_emb_N.npy + text_emb_N.npy (+ metadata_N.parquet) flat or in img_emb/ text_emb/ metadata/, or one image and one text .npy (+ a metadata .parquet)',
      ],
    ]) {
      await page.setInputFiles('#pool-input', file!);
      await page.click('#score-button');
      await page.waitForSelector('body[data-state="error"]', { timeout: 60_000 });
      expect(await page.textContent('#error')).toBe(message);
      mkdirSync('test-results', { recursive: true });
      await page.locator('#load-card').screenshot({ path: `test-results/web-lone-${file!.split('.').pop()}.png` });
    }
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
    expect(await page.textContent('#engine-badge')).toBe('1 thread · baseline SIMD · i16');
    const pool = generateSamplePool();
    expect(Number(await page.getAttribute('#kept-count', 'data-value'))).toBe(Math.floor(pool.uids.length * 0.2));
    await context.close();
  });
});
