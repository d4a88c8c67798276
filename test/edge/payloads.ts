/**
 * Request bodies in every format the edge function accepts, built from the sample pool's embeddings
 * with the project's own .npy writer, and the reference scores from the engine in Node.
 */
import { readFileSync } from 'node:fs';
import { createEngine, type Embeddings, type Engine } from 'clipsift';
import { encodeNpy, openNpy } from '../../src/io/npy.js';
import { bytesSource } from '../../src/io/source.js';
import { generateSamplePool } from '../../src/sample/pool.js';
import { fromFloat16Bits } from '../../src/numeric/float16.js';
import { EDGE_DIR } from './runtimes.js';

export interface Pair {
  img: Embeddings;
  txt: Embeddings;
}

/** `rows` pairs of the sample pool at dim 768 (the bundled target's), as float16 and as float32. */
export function samplePairs(rows: number, seed: number): { f16: Pair; f32: Pair } {
  const pool = generateSamplePool({ rows: Math.max(rows, 6), dim: 768, seed });
  const cut = (m: { data: Uint16Array; dim: number }): Embeddings => ({
    data: m.data.slice(0, rows * m.dim),
    rows,
    dim: m.dim,
  });
  const f16 = { img: cut(pool.image), txt: cut(pool.text) };
  const widen = (m: Embeddings): Embeddings => ({
    data: Float32Array.from(m.data as Uint16Array, fromFloat16Bits),
    rows: m.rows,
    dim: m.dim,
  });
  return { f16, f32: { img: widen(f16.img), txt: widen(f16.txt) } };
}

export const SCORE_COLUMNS = ['clip_score', 'negclip_loss', 'normsim_inf', 'normsim_2'] as const;
export type Scores = Record<(typeof SCORE_COLUMNS)[number], Float32Array>;

type Target = Awaited<ReturnType<Engine['prepareTarget']>>;

/**
 * The scores the edge function must return: the Node engine, one thread, baseline build, same target.
 * NormSim_∞ is against the bundled rows; NormSim_2 against their Gram matrix when the target has more
 * rows than dims (computed here in Node from the rows, not read from the bundle, so a wrong
 * target.gram.bin shows up as wrong scores), else against the rows, as the engine itself chooses.
 */
export class Reference {
  private constructor(
    private readonly engine: Engine,
    /** The bundled target rows. */
    readonly target: Embeddings,
    /** G = TᵀT of the rows, by the Node engine. */
    readonly gram: Float64Array,
    private readonly targets: { inf: Target; two: Target; twoFromRows: Target },
  ) {}

  static async open(): Promise<Reference> {
    const engine = await createEngine({ threads: 1, simd: 'baseline' });
    const npy = await openNpy(bytesSource('target.npy', new Uint8Array(readFileSync(`${EDGE_DIR}target.npy`))));
    const target = { data: await npy.readRows(0, npy.rows), rows: npy.rows, dim: npy.dim };
    const gram = await engine.gramMatrix(target);
    return new Reference(engine, target, gram, {
      inf: await engine.prepareTarget(target, { p: Infinity }),
      two:
        target.rows > target.dim
          ? await engine.prepareTarget({ gram, rows: target.rows, dim: target.dim })
          : await engine.prepareTarget(target, { p: 2 }),
      twoFromRows: await engine.prepareTarget(target, { p: 2 }),
    });
  }

  /** NormSim_2 with the target prepared from its rows (what the CLI and the library do by default). */
  normSim2FromRows(img: Embeddings): Promise<Float32Array> {
    return this.engine.normSim(img, this.targets.twoFromRows);
  }

  async scores({ img, txt }: Pair, precision: 'f32' | 'i16' = 'f32'): Promise<Scores> {
    return {
      clip_score: await this.engine.clipScore(img, txt, { precision }),
      negclip_loss: await this.engine.negClipLoss(img, txt, {
        batchSize: img.rows,
        temperature: 0.01,
        repeats: 1,
        seed: 0,
        precision,
      }),
      normsim_inf: await this.engine.normSim(img, this.targets.inf, { precision }),
      normsim_2: await this.engine.normSim(img, this.targets.two, { precision }),
    };
  }

  close(): Promise<void> {
    return this.engine.close();
  }
}

export function jsonBody({ img, txt }: Pair): RequestInit {
  const rowsOf = (m: Embeddings) =>
    Array.from({ length: m.rows }, (_, r) => Array.from(m.data.subarray(r * m.dim, (r + 1) * m.dim)));
  return {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ img: rowsOf(img), txt: rowsOf(txt) }),
  };
}

/** Raw values: image rows then text rows; rows, dim and dtype go in the query (see rawUrl). */
export function rawBody({ img, txt }: Pair): RequestInit {
  const bytes = new Uint8Array(img.data.byteLength + txt.data.byteLength);
  bytes.set(new Uint8Array(img.data.buffer, img.data.byteOffset, img.data.byteLength));
  bytes.set(new Uint8Array(txt.data.buffer, txt.data.byteOffset, txt.data.byteLength), img.data.byteLength);
  return { method: 'POST', headers: { 'content-type': 'application/octet-stream' }, body: bytes };
}

export function rawQuery({ img }: Pair): string {
  return `?rows=${img.rows}&dim=${img.dim}&dtype=${img.data instanceof Uint16Array ? 'float16' : 'float32'}`;
}

export function npyOf(m: Embeddings): Uint8Array<ArrayBuffer> {
  return encodeNpy(m.data, [m.rows, m.dim]);
}

export function npyPairBody({ img, txt }: Pair): RequestInit {
  const a = npyOf(img);
  const b = npyOf(txt);
  const bytes = new Uint8Array(a.length + b.length);
  bytes.set(a);
  bytes.set(b, a.length);
  return { method: 'POST', headers: { 'content-type': 'application/x-npy' }, body: bytes };
}

export function multipartBody({ img, txt }: Pair): RequestInit {
  const form = new FormData();
  form.set('img', new Blob([npyOf(img)]), 'img.npy');
  form.set('txt', new Blob([npyOf(txt)]), 'txt.npy');
  return { method: 'POST', body: form };
}

/** The columns of a JSON or binary score response, as float32. */
export async function responseScores(response: Response): Promise<Scores> {
  if ((response.headers.get('content-type') ?? '').startsWith('application/octet-stream')) {
    const rows = Number(response.headers.get('x-clipsift-rows'));
    const names = (response.headers.get('x-clipsift-columns') ?? '').split(',');
    const all = new Float32Array(await response.arrayBuffer());
    const out: Partial<Scores> = {};
    names.forEach((name, i) => {
      out[name as keyof Scores] = all.slice(i * rows, (i + 1) * rows);
    });
    return out as Scores;
  }
  const json = (await response.json()) as { columns: Record<string, number[]> };
  const out: Partial<Scores> = {};
  for (const name of SCORE_COLUMNS) out[name] = Float32Array.from(json.columns[name] ?? []);
  return out as Scores;
}

/** Bit patterns, so the comparison is exact (and NaN-safe) rather than numeric. */
export function bits(values: Float32Array): Uint32Array {
  return new Uint32Array(values.buffer, values.byteOffset, values.length);
}
