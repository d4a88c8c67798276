/**
 * The NormSim target bundled into the edge function at deploy time: an .npy of target image
 * embeddings (rows × dim, float16 or float32). It is prepared once per isolate for p = ∞ (the rows)
 * and p = 2 (the engine reduces them to the d×d Gram matrix, so a request costs d² per candidate).
 */
import type { Embeddings } from '../index.js';
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
