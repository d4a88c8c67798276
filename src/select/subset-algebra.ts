/**
 * Set operations on uid arrays (io/uid.ts: 4 u32 words per uid). Inputs may be in any order and hold
 * repeats; outputs are sorted ascending without repeats, the form a DataComp subset file takes.
 */
import { compareUids, sortUids, UID_WORDS, uidCount } from '../io/uid.js';

/** The uids in `a` or `b` (or both), sorted, each once. */
export function unionUids(a: Uint32Array, b: Uint32Array): Uint32Array {
  return merge(a, b, true);
}

/** The uids in both `a` and `b`, sorted, each once. */
export function intersectUids(a: Uint32Array, b: Uint32Array): Uint32Array {
  return merge(a, b, false);
}

/** One merge pass over the two sorted sets; `keepOnlyInOne` decides union (true) or intersection (false). */
function merge(a: Uint32Array, b: Uint32Array, keepOnlyInOne: boolean): Uint32Array {
  const x = sortUids(a, { unique: true });
  const y = sortUids(b, { unique: true });
  const nx = uidCount(x);
  const ny = uidCount(y);
  const out = new Uint32Array((keepOnlyInOne ? nx + ny : Math.min(nx, ny)) * UID_WORDS);
  let i = 0;
  let j = 0;
  let n = 0;
  const push = (from: Uint32Array, k: number): void => {
    out.set(from.subarray(k * UID_WORDS, (k + 1) * UID_WORDS), n * UID_WORDS);
    n++;
  };
  while (i < nx && j < ny) {
    const order = compareUids(x, i, y, j);
    if (order === 0) {
      push(x, i++);
      j++;
    } else if (order < 0) {
      if (keepOnlyInOne) push(x, i);
      i++;
    } else {
      if (keepOnlyInOne) push(y, j);
      j++;
    }
  }
  if (keepOnlyInOne) {
    while (i < nx) push(x, i++);
    while (j < ny) push(y, j++);
  }
  return out.slice(0, n * UID_WORDS);
}
