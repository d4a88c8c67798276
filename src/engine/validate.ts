/** Argument checks for the engine API: every problem is named, nothing is clamped silently. */

/** Row-major embeddings: float32 values, or IEEE float16 bit patterns as numpy stores '<f2'. */
export interface Embeddings {
  data: Float32Array | Uint16Array;
  rows: number;
  dim: number;
}

/** Throws unless `e` is a well-formed embedding matrix with finite values. */
export function checkEmbeddings(what: string, e: Embeddings): void {
  if (!e || typeof e !== 'object') throw new TypeError(`clipsift: ${what}: expected { data, rows, dim }`);
  if (!(e.data instanceof Float32Array) && !(e.data instanceof Uint16Array)) {
    throw new TypeError(`clipsift: ${what}: data must be a Float32Array or a Uint16Array of float16 bits`);
  }
  if (!Number.isInteger(e.rows) || e.rows < 1)
    throw new RangeError(`clipsift: ${what}: rows must be a positive integer, got ${e.rows}`);
  if (!Number.isInteger(e.dim) || e.dim < 1)
    throw new RangeError(`clipsift: ${what}: dim must be a positive integer, got ${e.dim}`);
  if (e.rows * e.dim !== e.data.length) {
    throw new RangeError(
      `clipsift: ${what}: rows × dim = ${e.rows} × ${e.dim} = ${e.rows * e.dim} but data has ${e.data.length} values`,
    );
  }
  const row = firstNonFiniteRow(e);
  if (row >= 0) throw new RangeError(`clipsift: ${what}: row ${row} has a non-finite value (NaN or Infinity)`);
}

/** Index of the first row holding NaN or ±Infinity, or -1. */
export function firstNonFiniteRow(e: Embeddings): number {
  const { data, dim } = e;
  if (data instanceof Uint16Array) {
    for (let i = 0; i < data.length; i++) if ((data[i] & 0x7c00) === 0x7c00) return Math.floor(i / dim);
  } else {
    for (let i = 0; i < data.length; i++) if (!Number.isFinite(data[i])) return Math.floor(i / dim);
  }
  return -1;
}

/** Throws unless image and text embeddings pair up row for row. */
export function checkPairs(img: Embeddings, txt: Embeddings): void {
  checkEmbeddings('image embeddings', img);
  checkEmbeddings('text embeddings', txt);
  if (img.dim !== txt.dim) throw new RangeError(`clipsift: image dim ${img.dim} differs from text dim ${txt.dim}`);
  if (img.rows !== txt.rows) throw new RangeError(`clipsift: ${img.rows} image rows but ${txt.rows} text rows`);
}

export function checkPositiveInteger(name: string, value: number): void {
  if (!Number.isInteger(value) || value < 1)
    throw new RangeError(`clipsift: ${name} must be an integer >= 1, got ${value}`);
}
