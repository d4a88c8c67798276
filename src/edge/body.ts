/**
 * Reads a request body with a hard byte cap, so an oversized or lying client costs at most the cap
 * in memory: the declared Content-Length is checked first, then the stream is counted as it arrives
 * (chunked bodies have no length to check).
 */
import { HttpError } from './http-error.js';

export async function readBodyCapped(
  request: Request,
  maxBytes: number,
  hint?: string,
): Promise<Uint8Array<ArrayBuffer>> {
  const declared = request.headers.get('content-length');
  if (declared !== null && Number(declared) > maxBytes) {
    // Refuse before reading a byte; cancelling tells the runtime the rest of the body is unwanted.
    await request.body?.cancel().catch(() => undefined);
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
        await reader.cancel().catch(() => undefined);
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
  const body = new Uint8Array(total);
  let at = 0;
  for (const chunk of chunks) {
    body.set(chunk, at);
    at += chunk.byteLength;
  }
  return body;
}

function tooLarge(maxBytes: number, hint?: string): HttpError {
  return new HttpError(413, `request body is larger than the limit of ${maxBytes} bytes${hint ? `; ${hint}` : ''}`);
}
