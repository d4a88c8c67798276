/**
 * Reads a request body with a hard byte cap, so an oversized or lying client costs at most the cap
 * in memory: the declared Content-Length is checked first, then the stream is counted as it arrives
 * (chunked bodies have no length to check).
 */
import { concatBytes } from '../io/source.js';
import { HttpError } from './http-error.js';

export async function readBodyCapped(
  request: Request,
  maxBytes: number,
  hint?: string,
): Promise<Uint8Array<ArrayBuffer>> {
  const declared = request.headers.get('content-length');
  if (declared !== null && Number(declared) > maxBytes) {
    // Refuse without keeping a byte. The client may still be sending: cancelling the body now makes some
    // runtimes (workerd) reset the connection before the client reads the 413, so the rest is read and
    // discarded first, bounded in bytes and by a pause in the upload (a client that sent only the head).
    if (request.body) await drain(request.body.getReader(), 0);
    throw tooLarge(maxBytes, hint);
  }
  if (!request.body) return new Uint8Array(0);

  const reader = request.body.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      total += value.byteLength;
      if (total > maxBytes) {
        chunks.length = 0; // nothing of it is kept while the rest drains
        await drain(reader, total);
        throw tooLarge(maxBytes, hint);
      }
      chunks.push(value);
    }
  } catch (error) {
    if (error instanceof HttpError) throw error;
    // The client went away or the stream broke mid-body: nothing to score.
    throw new HttpError(400, 'request body could not be read to the end');
  }
  // One fresh buffer: contiguous for the parsers, and aligned for typed-array views.
  return concatBytes(chunks);
}

/**
 * The most a refused body is read (and discarded) for, so its client sees the 413: a little more than the
 * largest body the limits allow. Past it, or for a body that lies about its length, the rest is cancelled.
 */
export const MAX_DRAIN_BYTES = 64 * 1024 * 1024;
/** A refused upload that sends nothing for this long is not waited for any more. */
export const DRAIN_PAUSE_MS = 1000;

/**
 * Reads and discards the rest of a body (memory: one chunk at a time) until the whole body read reaches
 * MAX_DRAIN_BYTES, then cancels what is left.
 * @param alreadyRead bytes of the body read before
 */
async function drain(reader: ReadableStreamDefaultReader<Uint8Array>, alreadyRead: number): Promise<void> {
  let total = alreadyRead;
  try {
    while (total <= MAX_DRAIN_BYTES) {
      let timer: ReturnType<typeof setTimeout> | undefined;
      const paused = new Promise<'paused'>((resolve) => {
        timer = setTimeout(() => resolve('paused'), DRAIN_PAUSE_MS);
      });
      const next = await Promise.race([reader.read(), paused]);
      clearTimeout(timer);
      if (next === 'paused') break;
      if (next.done) return;
      total += next.value.byteLength;
    }
    await reader.cancel();
  } catch {
    // The client went away: nobody is left to answer.
  }
}

function tooLarge(maxBytes: number, hint?: string): HttpError {
  return new HttpError(413, `request body is larger than the limit of ${maxBytes} bytes${hint ? `; ${hint}` : ''}`);
}
