/**
 * CRC-32 (IEEE 802.3, as zip uses) so a deflated entry's inflated bytes can
 * be checked against the checksum its directory records: the only defence
 * against a stream that inflates cleanly to the wrong bytes.
 */

const TABLE = (() => {
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    table[n] = c >>> 0;
  }
  return table;
})();

/**
 * Continue a CRC-32 over `bytes`. Start with `crc32(bytes)` and pass the
 * previous result to extend it over the next piece.
 */
export function crc32(bytes: Uint8Array, previous = 0): number {
  let c = ~previous >>> 0;
  for (let i = 0; i < bytes.length; i++) c = TABLE[(c ^ bytes[i]!) & 0xff]! ^ (c >>> 8);
  return ~c >>> 0;
}
