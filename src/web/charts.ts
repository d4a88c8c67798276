/**
 * uPlot charts for the score columns: a histogram per score (all rows in grey, the kept rows over
 * them in green, the step's threshold as a line, axes titled) and a CLIPScore × negCLIPLoss scatter
 * coloured by which step dropped a row, with the negCLIPLoss threshold across it. Charts are built once per scored pool; a selection change only swaps data.
 */
import uPlot from 'uplot';

const KEPT = '#2f9e44';
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
      axes: [axis({ label }), axis({ label: 'rows', size: fitLabels })],
      series: [
        { label },
        { label: 'all rows', fill: ALL, stroke: ALL, paths: bars, points: { show: false } },
        { label: 'kept', fill: KEPT, stroke: KEPT, paths: bars, points: { show: false } },
      ],
      hooks: {
        draw: [(u) => thresholdLine(u, 'x', threshold)],
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
  /**
   * Colours each row by what happened to it: kept, dropped by the first step (negCLIPLoss), or kept
   * by it and dropped by the second (NormSim); draws the first step's threshold across the y axis.
   */
  update(kept: Uint8Array, afterFirstStep: Uint8Array, yThreshold: number | null): void;
  destroy(): void;
}

/** Colours of the scatter's points: which step dropped a row. */
export const SCATTER_COLORS = { kept: KEPT, firstStep: '#f08c00', secondStep: '#7048e8' } as const;

/** x against y, one point per row (an even sample of rows on big pools), kept rows on top. */
export function scatter(container: HTMLElement, x: Float32Array, y: Float32Array, labels: [string, string]): Scatter {
  const stride = Math.max(1, Math.ceil(x.length / SCATTER_POINTS));
  const sampled: number[] = [];
  for (let i = 0; i < x.length; i += stride) sampled.push(i);
  // uPlot's x values must ascend: order the sample by x once.
  sampled.sort((a, b) => x[a]! - x[b]!);
  const xs = sampled.map((i) => x[i]!);
  const point = (color: string) => ({ show: true, size: 4, fill: color, stroke: color, width: 0 });
  let threshold: number | null = null;

  const plot = new uPlot(
    {
      ...size(container, 320),
      legend: { show: false },
      cursor: { points: { show: false }, drag: { x: false, y: false } },
      scales: { x: { time: false } },
      axes: [axis({ label: labels[0] }), axis({ label: labels[1], size: fitLabels })],
      series: [
        { label: labels[0] },
        {
          label: 'dropped by the first step',
          stroke: SCATTER_COLORS.firstStep,
          paths: () => null,
          points: point(SCATTER_COLORS.firstStep),
        },
        {
          label: 'dropped by the second step',
          stroke: SCATTER_COLORS.secondStep,
          paths: () => null,
          points: point(SCATTER_COLORS.secondStep),
        },
        { label: 'kept', stroke: KEPT, paths: () => null, points: point(KEPT) },
      ],
      hooks: { draw: [(u) => thresholdLine(u, 'y', threshold)] },
    },
    [xs, sampled.map((i) => y[i]!), sampled.map(() => null), sampled.map(() => null)],
    container,
  );
  const stopResizing = resizeWith(container, plot, 320);
  return {
    update(kept, afterFirstStep, yThreshold) {
      threshold = yThreshold;
      const first = sampled.map((i) => (afterFirstStep[i] ? null : y[i]!));
      const second = sampled.map((i) => (afterFirstStep[i] && !kept[i] ? y[i]! : null));
      const keptY = sampled.map((i) => (kept[i] ? y[i]! : null));
      // Counts of the points drawn in each colour, for tests and the curious.
      const drawn = (values: (number | null)[]) => String(values.filter((v) => v !== null).length);
      Object.assign(container.dataset, { kept: drawn(keptY), firstStep: drawn(first), secondStep: drawn(second) });
      plot.setData([xs, first, second, keptY]);
    },
    destroy() {
      stopResizing();
      plot.destroy();
    },
  };
}

/** A dashed line across the plot at `value` on the x or y scale (a step's threshold); nothing for null. */
function thresholdLine(u: uPlot, scale: 'x' | 'y', value: number | null): void {
  if (value === null) return;
  const at = Math.round(u.valToPos(value, scale, true));
  const { ctx, bbox } = u;
  ctx.save();
  ctx.strokeStyle = THRESHOLD;
  ctx.lineWidth = 2 * devicePixelRatio;
  ctx.setLineDash([5 * devicePixelRatio, 4 * devicePixelRatio]);
  ctx.beginPath();
  if (scale === 'x') {
    ctx.moveTo(at, bbox.top);
    ctx.lineTo(at, bbox.top + bbox.height);
  } else {
    ctx.moveTo(bbox.left, at);
    ctx.lineTo(bbox.left + bbox.width, at);
  }
  ctx.stroke();
  ctx.restore();
}

/**
 * Width of a y axis that fits its widest tick label ("10,000" included) plus the axis title: uPlot
 * calls this with the formatted tick values. Measured with the axis font, so nothing is clipped.
 */
function fitLabels(u: uPlot, values: string[] | null): number {
  const ctx = u.ctx;
  ctx.save();
  ctx.font = `${11 * devicePixelRatio}px system-ui, sans-serif`;
  const widest = Math.max(0, ...(values ?? []).map((v) => ctx.measureText(v).width / devicePixelRatio));
  ctx.restore();
  const size = Math.ceil(widest) + 10 + 6 + 20; // tick length + gap + labels + room for the rotated axis title
  // For tests and the curious: what the y axis had to fit, and the room it got.
  u.root.dataset.yLabelsWidth = String(widest);
  u.root.dataset.yAxisSize = String(size);
  return size;
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
