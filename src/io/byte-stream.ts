/**
 * Reads exact byte counts from a stream of arbitrarily sized pieces, the
 * glue between an inflater that emits whatever it has and a parser that
 * wants "the next 12 bytes" or "the next 8192 rows".
 */

export class ByteStreamReader {
  private readonly pieces: AsyncIterator<Uint8Array>;
  private pending: Uint8Array[] = [];
  private buffered = 0;
  private done = false;

  constructor(pieces: AsyncIterable<Uint8Array>) {
    this.pieces = pieces[Symbol.asyncIterator]();
  }

  /**
   * The next `n` bytes in a new array, or fewer if the stream ends first
   * (the caller decides whether that is an error).
   */
  async read(n: number): Promise<Uint8Array> {
    while (this.buffered < n && !this.done) {
      const next = await this.pieces.next();
      if (next.done) this.done = true;
      else if (next.value.length > 0) {
        this.pending.push(next.value);
        this.buffered += next.value.length;
      }
    }
    const out = new Uint8Array(Math.min(n, this.buffered));
    let filled = 0;
    while (filled < out.length) {
      const piece = this.pending[0]!;
      const take = Math.min(piece.length, out.length - filled);
      out.set(piece.subarray(0, take), filled);
      filled += take;
      if (take === piece.length) this.pending.shift();
      else this.pending[0] = piece.subarray(take);
    }
    this.buffered -= out.length;
    return out;
  }

  /** Stop the underlying stream early (runs its cleanup). */
  async close(): Promise<void> {
    this.pending = [];
    this.buffered = 0;
    if (!this.done) {
      this.done = true;
      await this.pieces.return?.();
    }
  }
}
