/**
 * uPlot charts for the score columns: a histogram per score (all rows in grey, the kept rows over
 * them in green, the step's threshold as a line) and a CLIPScore × negCLIPLoss scatter coloured by
 * kept / dropped. Charts are built once per scored pool; a selection change only swaps data.
 */
import uPlot from 'uplot';

const KEPT = '#2f9e44';
const DROPPED = '#c2c7d0';
const ALL = '#dee2e6';
const THRESHOLD = '#3b5bdb';
const BINS = 60;
/** More points than this make the scatter slow to redraw on every slider step; draw an even sample. */
const SCATTER_POINTS = 12000;

export interface Histogram {
  update(kept: Uint8Array, threshold: number | null): void;
  destroy(): void;
}

export function histogram(container: HTMLElement, values: Float32Array, label: string): Histogram {
  const { lo, width } = binRange(values);
  const bin = (v: number) => Math.min(BINS - 1, Math.max(0, Math.floor((v - lo) / width)));
  const centers = Array.from({ length: BINS }, (_, i) => lo + (i + 0.5) * width);
  const all = new Array<number>(BINS).fill(0);
  for (const v of values) all[bin(v)]!++;
  let threshold: number | null = null;

  const bars = uPlot.paths.bars!({ size: [0.92, Infinity], align: 0 });
  const plot = new uPlot(
    {
      ...size(container, 190),
      legend: { show: false },
      cursor: { points: { show: false }, drag: { x: false, y: false } },
      scales: { x: { time: false, range: [lo, lo + BINS * width] } },
      axes: [axis(), axis({ size: 44 })],
      series: [
        { label },
        { label: 'all rows', fill: ALL, stroke: ALL, paths: bars, points: { show: false } },
        { label: 'kept', fill: KEPT, stroke: KEPT, paths: bars, points: { show: false } },
      ],
      hooks: {
        draw: [
          (u) => {
            if (threshold === null) return;
            const x = Math.round(u.valToPos(threshold, 'x', true));
            const { ctx, bbox } = u;
            ctx.save();
            ctx.strokeStyle = THRESHOLD;
            ctx.lineWidth = 2 * devicePixelRatio;
            ctx.setLineDash([5 * devicePixelRatio, 4 * devicePixelRatio]);
            ctx.beginPath();
            ctx.moveTo(x, bbox.top);
            ctx.lineTo(x, bbox.top + bbox.height);
            ctx.stroke();
            ctx.restore();
          },
        ],
      },
    },
    [centers, all, all.map(() => 0)],
    container,
  );
  const stopResizing = resizeWith(container, plot, 190);
  return {
    update(kept, nextThreshold) {
      const keptCounts = new Array<number>(BINS).fill(0);
      for (let i = 0; i < values.length; i++) if (kept[i]) keptCounts[bin(values[i]!)]!++;
      threshold = nextThreshold;
      plot.setData([centers, all, keptCounts]);
    },
    destroy() {
      stopResizing();
      plot.destroy();
    },
  };
}

export interface Scatter {
  update(kept: Uint8Array): void;
  destroy(): void;
}

/** x against y, one point per row (an even sample of rows on big pools), kept rows on top. */
export function scatter(container: HTMLElement, x: Float32Array, y: Float32Array, labels: [string, string]): Scatter {
  const stride = Math.max(1, Math.ceil(x.length / SCATTER_POINTS));
  const sampled: number[] = [];
  for (let i = 0; i < x.length; i += stride) sampled.push(i);
  // uPlot's x values must ascend: order the sample by x once.
  sampled.sort((a, b) => x[a]! - x[b]!);
  const xs = sampled.map((i) => x[i]!);
  const point = (color: string) => ({ show: true, size: 4, fill: color, stroke: color, width: 0 });

  const plot = new uPlot(
    {
      ...size(container, 320),
      legend: { show: false },
      cursor: { points: { show: false }, drag: { x: false, y: false } },
      scales: { x: { time: false } },
      axes: [axis({ label: labels[0] }), axis({ label: labels[1], size: 56 })],
      series: [
        { label: labels[0] },
        { label: 'dropped', stroke: DROPPED, paths: () => null, points: point(DROPPED) },
        { label: 'kept', stroke: KEPT, paths: () => null, points: point(KEPT) },
      ],
    },
    [xs, sampled.map((i) => y[i]!), sampled.map(() => null)],
    container,
  );
  const stopResizing = resizeWith(container, plot, 320);
  return {
    update(kept) {
      const dropped = sampled.map((i) => (kept[i] ? null : y[i]!));
      const keptY = sampled.map((i) => (kept[i] ? y[i]! : null));
      plot.setData([xs, dropped, keptY]);
    },
    destroy() {
      stopResizing();
      plot.destroy();
    },
  };
}

function binRange(values: Float32Array): { lo: number; width: number } {
  let lo = Infinity;
  let hi = -Infinity;
  for (const v of values) {
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  if (!Number.isFinite(lo)) return { lo: 0, width: 1 / BINS };
  const span = hi - lo || Math.abs(hi) || 1;
  // A little room on both sides so the extreme bars are not cut by the frame.
  return { lo: lo - span * 0.02, width: (span * 1.04) / BINS };
}

function axis(extra: uPlot.Axis = {}): uPlot.Axis {
  return {
    stroke: '#667085',
    grid: { stroke: '#eef0f3', width: 1 },
    ticks: { stroke: '#e4e7ec', width: 1 },
    font: '11px system-ui, sans-serif',
    labelFont: '12px system-ui, sans-serif',
    ...extra,
  };
}

function size(container: HTMLElement, height: number): { width: number; height: number } {
  return { width: Math.max(200, container.clientWidth), height };
}

function resizeWith(container: HTMLElement, plot: uPlot, height: number): () => void {
  const observer = new ResizeObserver(() => plot.setSize(size(container, height)));
  observer.observe(container);
  return () => observer.disconnect();
}
