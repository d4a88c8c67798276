/**
 * The demo page: collects files (or the sample pool), hands them to the scoring worker, then lets the
 * user move the selection sliders and see the effect on counts, charts and tables at once.
 */
import { allRows } from '../select/steps.js';
import { histogram, scatter, type Histogram, type Scatter } from './charts.js';
import { keptKeysText, scoreCsv, scoreParquet, subsetNpy } from './downloads.js';
import { filesFromDrop, filesFromInput } from './dropped-files.js';
import type { DroppedFile, PoolRequest, ScoreJob, ScoredPool, WorkerReply } from './protocol.js';
import { keptMask, PageSelector } from './selection.js';
import { formatScore, rowTable, type RowTable } from './table.js';

const byId = <T extends HTMLElement = HTMLElement>(id: string): T => {
  const element = document.getElementById(id);
  if (!element) throw new Error(`page is missing #${id}`);
  return element as T;
};

const SCORE_LABELS: Record<string, string> = {
  clip_score: 'CLIPScore',
  negclip_loss: 'negCLIPLoss',
  normsim_inf: 'NormSim∞',
  normsim_2: 'NormSim₂',
};

/** State the test (and a curious user) can read: data-state on <body> is idle | scoring | ready | error. */
function setState(state: 'idle' | 'scoring' | 'ready' | 'error'): void {
  document.body.dataset.state = state;
}

let poolFiles: DroppedFile[] = [];
let targetFile: File | null = null;
let worker: Worker | null = null;
let view: ResultView | null = null;
let shown: ScoredPool | null = null;

function main(): void {
  setState('idle');
  showIsolation();
  wireDrop(byId('pool-drop'), byId<HTMLInputElement>('pool-input'), (files) => {
    poolFiles = files;
    listFiles(byId('pool-files'), files);
    byId<HTMLButtonElement>('score-button').disabled = files.length === 0;
  });
  wireDrop(byId('target-drop'), byId<HTMLInputElement>('target-input'), (files) => {
    targetFile = files[0]?.file ?? null;
    listFiles(byId('target-files'), files.slice(0, 1));
  });
  byId('sample-button').addEventListener('click', () => score({ kind: 'sample' }));
  byId('normsim-p').addEventListener('change', switchNormSimP);
  byId('score-button').addEventListener('click', () => {
    score({ kind: 'files', files: poolFiles, target: chosenTarget(), arch: chosenArch() });
  });
  const poolUrl = byId<HTMLInputElement>('pool-url');
  const urlButton = byId<HTMLButtonElement>('url-button');
  const scoreUrl = () =>
    score({
      kind: 'urls',
      urls: poolUrl.value.split(/\s+/).filter(Boolean),
      target: chosenTarget(),
      arch: chosenArch(),
    });
  poolUrl.addEventListener('input', () => {
    urlButton.disabled = poolUrl.value.trim() === '';
  });
  poolUrl.addEventListener('keydown', (event) => {
    if (event.key === 'Enter' && poolUrl.value.trim() !== '') scoreUrl();
  });
  urlButton.addEventListener('click', scoreUrl);
  // ?pool=<url> (repeatable) and ?target=<url>: a link that scores a pool where it lives.
  const query = new URLSearchParams(location.search);
  byId<HTMLInputElement>('target-url').value = query.get('target') ?? '';
  poolUrl.value = query.getAll('pool').join(' ');
  urlButton.disabled = poolUrl.value.trim() === '';
  if (poolUrl.value.trim() !== '') scoreUrl();
}

function chosenArch(): 'l14' | 'b32' {
  return byId<HTMLSelectElement>('arch').value === 'b32' ? 'b32' : 'l14';
}

/** The target URL when one is typed, else the dropped target file. */
function chosenTarget(): File | string | null {
  const url = byId<HTMLInputElement>('target-url').value.trim();
  return url !== '' ? url : targetFile;
}

function showIsolation(): void {
  const badge = byId('isolation-badge');
  if (globalThis.crossOriginIsolated) {
    badge.textContent = 'cross-origin isolated · threads available';
    badge.className = 'badge ok';
  } else {
    badge.textContent = 'not cross-origin isolated · scoring on one thread';
    badge.className = 'badge warn';
    badge.title =
      'Serve the page with Cross-Origin-Opener-Policy: same-origin and Cross-Origin-Embedder-Policy: require-corp (clipsift serve-demo does) to score on all cores.';
  }
}

function showEngine(pool: ScoredPool): void {
  const runtime = byId('runtime');
  runtime.querySelectorAll('.engine').forEach((node) => {
    node.remove();
  });
  const badge = document.createElement('span');
  badge.className = 'badge engine';
  badge.id = 'engine-badge';
  const { threads, simd, precision } = pool.engine;
  badge.textContent = `${threads} thread${threads === 1 ? '' : 's'} · ${simd} SIMD · ${precision}`;
  runtime.appendChild(badge);
}

function wireDrop(zone: HTMLElement, input: HTMLInputElement, onFiles: (files: DroppedFile[]) => void): void {
  zone.addEventListener('click', (event) => {
    if ((event.target as HTMLElement).tagName !== 'A') input.click();
  });
  zone.addEventListener('keydown', (event) => {
    if (event.key === 'Enter' || event.key === ' ') input.click();
  });
  input.addEventListener('change', () => onFiles(filesFromInput(input)));
  zone.addEventListener('dragover', (event) => {
    event.preventDefault();
    zone.classList.add('over');
  });
  zone.addEventListener('dragleave', () => zone.classList.remove('over'));
  zone.addEventListener('drop', (event) => {
    event.preventDefault();
    zone.classList.remove('over');
    if (!event.dataTransfer) return;
    filesFromDrop(event.dataTransfer).then(onFiles, (error: unknown) =>
      showError(`could not read the dropped files: ${error instanceof Error ? error.message : String(error)}`),
    );
  });
}

function listFiles(list: HTMLElement, files: DroppedFile[]): void {
  list.replaceChildren(
    ...files.map(({ path, file }) => {
      const item = document.createElement('li');
      item.textContent = `${path} (${formatBytes(file.size)})`;
      return item;
    }),
  );
}

function score(pool: PoolRequest): void {
  const p = byId<HTMLSelectElement>('normsim-p').value === '2' ? 2 : Infinity;
  setState('scoring');
  showError(null);
  clearResults();
  setBusy(true);
  progress('starting the engine', 0, 1);
  worker ??= startWorker();
  const precision = byId<HTMLSelectElement>('precision').value === 'i16' ? 'i16' : 'f32';
  worker.postMessage({ pool, p, simd: simdFromUrl(), precision } satisfies ScoreJob);
}

/** `?simd=baseline` (or relaxed) in the page URL forces a SIMD build; the default picks the fastest. */
function simdFromUrl(): ScoreJob['simd'] {
  const simd = new URLSearchParams(location.search).get('simd');
  return simd === 'baseline' || simd === 'relaxed' ? simd : 'auto';
}

function startWorker(): Worker {
  const next = new Worker(new URL('./score-worker.js', import.meta.url), { type: 'module', name: 'clipsift-score' });
  next.onmessage = (event: MessageEvent<WorkerReply>) => {
    const reply = event.data;
    if (reply.type === 'progress') progress(reply.phase, reply.done, reply.total);
    else if (reply.type === 'error') fail(reply.message);
    else showResult(reply.pool);
  };
  next.onerror = (event) => {
    event.preventDefault();
    worker = null;
    fail(event.message || 'the scoring worker stopped');
  };
  return next;
}

function progress(phase: string, done: number, total: number): void {
  byId('progress').hidden = false;
  const fraction = total > 0 ? done / total : 0;
  byId('progress-fill').style.width = `${(fraction * 100).toFixed(1)}%`;
  byId('progress-text').textContent =
    total > 1 ? `${phase} · ${done.toLocaleString()} / ${total.toLocaleString()}` : phase;
}

function fail(message: string): void {
  setBusy(false);
  byId('progress').hidden = true;
  showError(message);
  setState('error');
}

function showError(message: string | null): void {
  const box = byId('error');
  box.hidden = message === null;
  box.textContent = message ?? '';
}

function setBusy(busy: boolean): void {
  byId<HTMLButtonElement>('sample-button').disabled = busy;
  byId<HTMLButtonElement>('score-button').disabled = busy || poolFiles.length === 0;
  byId<HTMLButtonElement>('url-button').disabled = busy || byId<HTMLInputElement>('pool-url').value.trim() === '';
}

function showResult(pool: ScoredPool): void {
  setBusy(false);
  progress(`scored ${pool.rows.toLocaleString()} rows from ${pool.source}`, 1, 1);
  showEngine(pool);
  for (const id of ['select-card', 'charts-card', 'table-card']) byId(id).hidden = false;
  showPool(pool);
  setState('ready');
}

/** Takes the previous pool's results off the page, so a failed or running job never shows stale ones. */
function clearResults(): void {
  view?.destroy();
  view = null;
  shown = null;
  for (const id of ['select-card', 'charts-card', 'table-card']) byId(id).hidden = true;
  for (const node of byId('runtime').querySelectorAll('.engine')) node.remove();
}

function showPool(pool: ScoredPool): void {
  view?.destroy();
  shown = pool;
  view = new ResultView(pool);
}

/**
 * A new NormSim p applies at once when the pool already has that column (the sample pool is scored
 * with both p = ∞ and p = 2); otherwise it needs scoring again, which the page says.
 */
function switchNormSimP(): void {
  if (!shown?.normsimColumn) return;
  const column = byId<HTMLSelectElement>('normsim-p').value === '2' ? 'normsim_2' : 'normsim_inf';
  if (column === shown.normsimColumn) return;
  if (column in shown.scores) showPool({ ...shown, normsimColumn: column });
  else progress(`score again to use NormSim with p = ${column === 'normsim_2' ? '2' : '∞'}`, 0, 0);
}

/** Everything shown for one scored pool; rebuilt when another pool is scored. */
class ResultView {
  private readonly histograms: { column: string; chart: Histogram }[] = [];
  private readonly scatter: Scatter;
  private readonly table: RowTable;
  private readonly selector: PageSelector;
  private readonly negclipSlider = byId<HTMLInputElement>('negclip-slider');
  private readonly normsimSlider = byId<HTMLInputElement>('normsim-slider');
  // The tab the user had open stays open for the next pool; the table always shows that tab's rows.
  private showing: 'kept' | 'dropped' =
    byId('tab-dropped').getAttribute('aria-selected') === 'true' ? 'dropped' : 'kept';
  private kept: Uint32Array = new Uint32Array(0);
  private keptUids: Uint32Array | null = null;
  private dropped: Uint32Array = new Uint32Array(0);
  /** Every row by CLIPScore, best first (the kinds table's "CLIPScore alone"), ranked once per pool. */
  private byClipScore: Uint32Array | null = null;

  constructor(private readonly pool: ScoredPool) {
    this.selector = new PageSelector(pool);
    const normsim = pool.normsimColumn;
    byId('normsim-name').textContent = normsim ? (SCORE_LABELS[normsim] ?? normsim) : 'NormSim';
    this.normsimSlider.disabled = !normsim;
    byId('normsim-slider-label').classList.toggle('muted', !normsim);
    const note = byId('normsim-note');
    note.hidden = false;
    note.dataset.target = pool.targetDescription ?? '';
    note.textContent = pool.targetDescription
      ? `NormSim target: ${pool.targetDescription}.`
      : 'Drop a target file (image embeddings of data you want to resemble) to select by NormSim too.';
    byId('hist-normsim-figure').hidden = !normsim;
    byId('kinds').hidden = !pool.kinds;

    for (const column of ['clip_score', 'negclip_loss', ...(normsim ? [normsim] : [])]) {
      const container = byId(column === normsim ? 'hist-normsim' : `hist-${column}`);
      if (column === normsim) byId('hist-normsim-caption').textContent = SCORE_LABELS[column] ?? column;
      container.replaceChildren();
      this.histograms.push({
        column,
        chart: histogram(container, pool.scores[column]!, SCORE_LABELS[column] ?? column),
      });
    }
    const scatterBox = byId('scatter');
    scatterBox.replaceChildren();
    this.scatter = scatter(scatterBox, pool.scores.clip_score!, pool.scores.negclip_loss!, [
      'CLIPScore',
      'negCLIPLoss',
    ]);
    // A new pool brings its own columns: start the table from scratch.
    byId<HTMLTableElement>('rows-table').replaceChildren();
    this.table = rowTable(
      byId<HTMLTableElement>('rows-table'),
      { prev: byId('page-prev'), next: byId('page-next'), info: byId('page-info') },
      pool,
    );

    this.negclipSlider.oninput = () => this.update();
    this.normsimSlider.oninput = () => this.update();
    byId('tab-kept').onclick = () => this.showTab('kept');
    byId('tab-dropped').onclick = () => this.showTab('dropped');
    byId('download-subset').onclick = () => this.downloadSubset();
    // Rows without uids cannot go into subset.npy; their keys can go into a text file, and the page says why.
    byId('download-subset').hidden = !pool.hasUids;
    byId('download-keys').hidden = pool.hasUids;
    byId('download-keys').onclick = () => save(keptKeysText(this.pool, this.kept), 'kept-keys.txt', 'text/plain');
    byId('no-uids-note').hidden = pool.hasUids;
    byId('download-csv').onclick = () => save(scoreCsv(this.pool, this.keptFlags()), 'scores.csv', 'text/csv');
    byId('download-parquet').onclick = () =>
      save(scoreParquet(this.pool, this.keptFlags()), 'scores.parquet', 'application/vnd.apache.parquet');
    this.update();
  }

  destroy(): void {
    for (const { chart } of this.histograms) chart.destroy();
    this.scatter.destroy();
  }

  private fractions() {
    return { negclip: Number(this.negclipSlider.value) / 100, normsim: Number(this.normsimSlider.value) / 100 };
  }

  private update(): void {
    const fractions = this.fractions();
    byId('negclip-value').textContent = this.negclipSlider.value;
    byId('normsim-value').textContent = this.normsimSlider.value;
    const { rows, uids, summary, afterFirst } = this.selector.select(fractions);
    this.kept = rows;
    this.keptUids = uids;
    const mask = keptMask(this.pool.rows, rows);
    this.dropped = complement(mask);

    byId('kept-count').textContent = summary.kept.toLocaleString('en-US');
    byId('kept-count').dataset.value = String(summary.kept);
    byId('pool-count').textContent = summary.poolSize.toLocaleString('en-US');
    byId('steps').replaceChildren(
      ...summary.steps.map((outcome) => {
        const item = document.createElement('li');
        const name = SCORE_LABELS[outcome.step.column] ?? outcome.step.column;
        const threshold = outcome.threshold === null ? 'nothing kept' : `${name} ≥ ${formatScore(outcome.threshold)}`;
        item.textContent = `top ${name}: ${outcome.kept.toLocaleString('en-US')} rows (${threshold})`;
        item.dataset.kept = String(outcome.kept);
        return item;
      }),
    );
    for (const { column, chart } of this.histograms) {
      const outcome = summary.steps.find((s) => s.step.column === column);
      chart.update(mask, outcome?.threshold ?? null);
    }
    // Which step dropped a row: the rows the first step (negCLIPLoss) keeps on its own.
    const first = summary.steps[0];
    this.scatter.update(
      mask,
      summary.steps.length > 1 ? keptMask(this.pool.rows, afterFirst) : mask,
      first?.threshold ?? null,
    );
    byId('tab-kept-count').textContent = `(${rows.length.toLocaleString('en-US')})`;
    byId('tab-dropped-count').textContent = `(${this.dropped.length.toLocaleString('en-US')})`;
    this.showTab(this.showing);
    if (this.pool.kinds) {
      this.byClipScore ??= clipScoreRanking(this.pool);
      renderKinds(this.pool.kinds, rows, this.byClipScore.subarray(0, rows.length));
    }
  }

  private showTab(which: 'kept' | 'dropped'): void {
    this.showing = which;
    byId('tab-kept').setAttribute('aria-selected', String(which === 'kept'));
    byId('tab-dropped').setAttribute('aria-selected', String(which === 'dropped'));
    this.table.setRows(which === 'kept' ? this.kept : this.dropped);
  }

  private keptFlags(): Uint8Array {
    return keptMask(this.pool.rows, this.kept);
  }

  private downloadSubset(): void {
    try {
      save(subsetNpy(this.keptUids), 'subset.npy', 'application/octet-stream');
    } catch (error) {
      showError(error instanceof Error ? error.message : String(error));
    }
  }
}

/** Per planted kind: rows in the pool, kept by this selection, kept by CLIPScore alone at the same size. */
function renderKinds(kinds: string[], kept: Uint32Array, byClip: Uint32Array): void {
  byId('kinds').hidden = false;
  const count = (rows: ArrayLike<number>) => {
    const counts = new Map<string, number>();
    for (let i = 0; i < rows.length; i++) counts.set(kinds[rows[i]!]!, (counts.get(kinds[rows[i]!]!) ?? 0) + 1);
    return counts;
  };
  const inPool = count(Array.from(kinds.keys()));
  const inSelection = count(kept);
  const inClip = count(byClip);
  const table = byId<HTMLTableElement>('kinds-table');
  const header = `<thead><tr><th>pair</th><th class="num">in pool</th><th class="num">kept here</th><th class="num">CLIPScore alone</th></tr></thead>`;
  const body = [...inPool.keys()].sort().map((kind) => {
    const badge = `<span class="kind ${kind}">${kind}</span>`;
    return `<tr><td>${badge}</td><td class="num">${inPool.get(kind) ?? 0}</td><td class="num">${inSelection.get(kind) ?? 0}</td><td class="num">${inClip.get(kind) ?? 0}</td></tr>`;
  });
  // The kind names come from src/sample's fixed list, never from user input.
  table.innerHTML = `${header}<tbody>${body.join('')}</tbody>`;
}

/**
 * The pool's rows by CLIPScore, highest first, ties by id: its first n rows are what a `top` step of n rows
 * by CLIPScore keeps (select's keepTop), so each slider move takes a prefix instead of selecting again.
 */
function clipScoreRanking(pool: ScoredPool): Uint32Array {
  const scores = pool.scores.clip_score!;
  const ids = pool.ids;
  return allRows(pool.rows).sort(
    (a, b) => scores[b]! - scores[a]! || (ids[a]! < ids[b]! ? -1 : ids[a]! > ids[b]! ? 1 : 0),
  );
}

function complement(mask: Uint8Array): Uint32Array {
  const rows: number[] = [];
  for (let i = 0; i < mask.length; i++) if (!mask[i]) rows.push(i);
  return Uint32Array.from(rows);
}

function save(bytes: Uint8Array | string, name: string, type: string): void {
  const url = URL.createObjectURL(new Blob([bytes as BlobPart], { type }));
  const link = document.createElement('a');
  link.href = url;
  link.download = name;
  document.body.appendChild(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  const units = ['KiB', 'MiB', 'GiB'];
  let value = bytes / 1024;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${value.toFixed(value < 10 ? 1 : 0)} ${units[unit]}`;
}

main();
