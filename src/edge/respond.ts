/**
 * Encodes score columns as JSON, or as raw little-endian float32 columns back to back (one column
 * after the other, each `rows` long) when the client asks for application/octet-stream. JSON numbers
 * round-trip float32 exactly (every float32 is a double, and JSON.stringify prints doubles exactly).
 */
export type ScoreColumns = Record<string, Float32Array>;

export function wantsBinary(request: Request): boolean {
  const accept = request.headers.get('accept') ?? '';
  return accept.split(',').some((part) => part.split(';')[0]!.trim().toLowerCase() === 'application/octet-stream');
}

export function scoresResponse(columns: ScoreColumns, rows: number, binary: boolean): Response {
  const names = Object.keys(columns);
  if (binary) {
    const body = new Float32Array(rows * names.length);
    names.forEach((name, i) => {
      body.set(columns[name]!, i * rows);
    });
    if (!littleEndian()) throw new Error('big-endian hosts are not supported');
    return new Response(body.buffer, {
      headers: {
        'content-type': 'application/octet-stream',
        'x-clipsift-rows': String(rows),
        'x-clipsift-columns': names.join(','),
      },
    });
  }
  const json: Record<string, number[]> = {};
  for (const name of names) json[name] = Array.from(columns[name]!);
  return Response.json({ rows, columns: json });
}

function littleEndian(): boolean {
  return new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;
}
