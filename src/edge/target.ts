/**
 * The NormSim target bundled into the edge function at deploy time: the target image embeddings
 * (an .npy, rows × dim, float16 or float32) for NormSim_∞, and their Gram matrix G = TᵀT (d × d,
 * computed by scripts/build-edge.js with the engine) for NormSim_2, so the isolate never builds G.
 */
import type { Embeddings, GramTarget } from '../index.js';
import { bytesSource } from '../io/source.js';
import { openNpy } from '../io/npy.js';

export interface BundledTarget {
  /** The file name it was built from, for /health. */
  name: string;
  embeddings: Embeddings;
}

export async function decodeBundledTarget(name: string, bytes: Uint8Array): Promise<BundledTarget> {
  const npy = await openNpy(bytesSource(name, bytes));
  const data = await npy.readRows(0, npy.rows);
  return { name, embeddings: { data, rows: npy.rows, dim: npy.dim } };
}

/** The magic that starts a bundled Gram matrix file (target.gram.bin). */
export const GRAM_MAGIC = 'CSGRAM01';
const GRAM_HEADER_BYTES = 16;

/**
 * Reads target.gram.bin: the ASCII magic "CSGRAM01", rows and dim as little-endian uint32, then
 * G's dim × dim values, row-major, little-endian float64. A target of at most dim rows ships the
 * header alone (undefined here): NormSim_2 is then scored from its rows, as the engine would.
 */
export function decodeBundledGram(name: string, bytes: Uint8Array): GramTarget | undefined {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const magic = bytes.length >= GRAM_HEADER_BYTES ? String.fromCharCode(...bytes.subarray(0, GRAM_MAGIC.length)) : '';
  if (magic !== GRAM_MAGIC) throw new Error(`${name}: not a clipsift Gram matrix (no ${GRAM_MAGIC} header)`);
  const rows = view.getUint32(8, true);
  const dim = view.getUint32(12, true);
  const values = dim * dim;
  if (bytes.length === GRAM_HEADER_BYTES && rows <= dim) return undefined;
  if (bytes.length !== GRAM_HEADER_BYTES + values * 8) {
    throw new Error(
      `${name}: ${bytes.length} bytes, not a ${GRAM_HEADER_BYTES}-byte header and ${dim} × ${dim} float64 values`,
    );
  }
  const gram = new Float64Array(values);
  for (let i = 0; i < values; i++) gram[i] = view.getFloat64(GRAM_HEADER_BYTES + i * 8, true);
  return { gram, rows, dim };
}
