/**
 * What the page offers for download: DataComp's subset.npy of the kept uids (src/io's writer, the
 * one `clipsift select` uses) and the score table as CSV or as a score file (src/io/score-file.ts).
 */
import { encodeScoreFile, METADATA_KEYS, UID_COLUMN } from '../io/score-file.js';
import { encodeSubsetFile } from '../io/subset-file.js';
import type { ScoredPool } from './protocol.js';

/** subset.npy for the kept uids, byte-identical to what `clipsift select` writes. */
export function subsetNpy(keptUids: Uint32Array | null): Uint8Array {
  if (!keptUids) throw new Error('these rows have no DataComp uids, so there is no subset.npy to write');
  return encodeSubsetFile(keptUids);
}

/**
 * The kept rows' keys, one per line in pool order: for rows without DataComp uids (clip-retrieval,
 * plain files), where no subset.npy can be written, the list a resharder or a script can join on.
 */
export function keptKeysText(pool: ScoredPool, keptRows: Uint32Array): string {
  return Array.from(keptRows, (row) => `${pool.ids[row]!}\n`).join('');
}

/** The score table with a `kept` column (1 = kept by the current selection), as CSV (RFC 4180). */
export function scoreCsv(pool: ScoredPool, kept: Uint8Array): string {
  const columns = Object.keys(pool.scores);
  const header = [pool.hasUids ? UID_COLUMN : 'key', ...columns, 'kept', 'caption', 'url'];
  const lines = [header.join(',')];
  for (let row = 0; row < pool.rows; row++) {
    const fields = [
      quote(pool.ids[row]!),
      // String(float32 as double) is exact: parsing it back and rounding to float32 gives the same bits.
      ...columns.map((column) => String(pool.scores[column]![row]!)),
      kept[row] ? '1' : '0',
      quote(pool.captions[row] ?? ''),
      quote(pool.urls[row] ?? ''),
    ];
    lines.push(fields.join(','));
  }
  return lines.join('\r\n') + '\r\n';
}

/** The same table as a score file (which `clipsift select` reads): its columns plus `kept`, caption and url. */
export function scoreParquet(pool: ScoredPool, kept: Uint8Array): Uint8Array {
  return encodeScoreFile({
    keys: { [pool.hasUids ? UID_COLUMN : 'key']: pool.ids },
    scores: pool.scores,
    extra: {
      kept: Int32Array.from(kept),
      caption: pool.captions.map((caption) => caption ?? ''),
      url: pool.urls.map((url) => url ?? ''),
    },
    metadata: { [METADATA_KEYS.source]: pool.source },
  });
}

function quote(text: string): string {
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}
