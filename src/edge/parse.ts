/**
 * Turns a POST /score request into a pair of embedding matrices, whatever shape the client chose:
 *
 * - `application/json`: `{ "img": number[][], "txt": number[][] }`;
 * - `application/octet-stream` (or `application/x-float16` / `application/x-float32`): raw
 *   little-endian values, `rows`, `dim` and `dtype` (float16 | float32) in the query, the image rows
 *   followed by the text rows;
 * - `application/x-npy`: two .npy files back to back, images then texts;
 * - `multipart/form-data`: two .npy file parts named `img` and `txt`.
 *
 * Any of them may ask for the engine's precision with `?precision=f32|i16` (JSON bodies may instead
 * carry a `"precision"` field); without it the handler scores in f32.
 *
 * Every way in ends in the same checks (shapes agree, the row cap, finite values), so the engine only
 * ever sees well-formed input and a client always gets a 400 naming what is wrong.
 */
import { type Embeddings, firstNonFiniteRow, type Precision } from '../index.js';
import { bytesSource } from '../io/source.js';
import { embeddingDtype, itemSize, openNpy, readNpyHeader } from '../io/npy.js';
import { readBodyCapped } from './body.js';
import { HttpError } from './http-error.js';

export interface ScoreInput {
  img: Embeddings;
  txt: Embeddings;
  /** The precision asked for (query parameter or JSON field); undefined = the handler's default. */
  precision?: Precision;
}

export interface ParseLimits {
  maxBodyBytes: number;
  /** JSON parses into ~10× its size in objects; a lower cap keeps an isolate (128 MB on Workers) alive. */
  maxJsonBytes: number;
  maxRows: number;
}

export const ACCEPTED_CONTENT_TYPES = [
  'application/json',
  'application/octet-stream',
  'application/x-float16',
  'application/x-float32',
  'application/x-npy',
  'multipart/form-data',
] as const;

export async function parseScoreRequest(request: Request, limits: ParseLimits): Promise<ScoreInput> {
  const mediaType = (request.headers.get('content-type') ?? '').split(';')[0]!.trim().toLowerCase();
  if (!(ACCEPTED_CONTENT_TYPES as readonly string[]).includes(mediaType)) {
    throw new HttpError(
      415,
      `unsupported content type '${mediaType || '(none)'}'; send one of ${ACCEPTED_CONTENT_TYPES.join(', ')}`,
    );
  }
  const fromQuery = parsePrecision(new URL(request.url).searchParams.get('precision'), 'query parameter precision');
  const input = await parseByType(mediaType, request, limits);
  checkPair(input, limits.maxRows);
  if (fromQuery !== undefined && input.precision !== undefined && fromQuery !== input.precision)
    throw new HttpError(400, `precision is '${fromQuery}' in the query but '${input.precision}' in the body`);
  return { ...input, precision: input.precision ?? fromQuery };
}

function parsePrecision(value: unknown, what: string): Precision | undefined {
  if (value === null || value === undefined) return undefined;
  if (value === 'f32' || value === 'i16') return value;
  throw new HttpError(400, `${what} must be f32 or i16, got '${String(value)}'`);
}

async function parseByType(mediaType: string, request: Request, limits: ParseLimits): Promise<ScoreInput> {
  if (mediaType === 'multipart/form-data') {
    // Cap the bytes before the runtime's form parser sees them, then parse the capped copy.
    const body = await readBodyCapped(request, limits.maxBodyBytes);
    const copy = new Request('http://body/', { method: 'POST', headers: request.headers, body });
    return parseMultipart(copy);
  }
  if (mediaType === 'application/json') {
    return parseJson(
      await readBodyCapped(
        request,
        Math.min(limits.maxBodyBytes, limits.maxJsonBytes),
        'send raw float16/float32 or .npy for bigger batches',
      ),
    );
  }
  const body = await readBodyCapped(request, limits.maxBodyBytes);
  if (mediaType === 'application/x-npy') return parseNpyPair(body);
  const fallbackDtype =
    mediaType === 'application/x-float16' ? 'float16' : mediaType === 'application/x-float32' ? 'float32' : undefined;
  return parseRaw(body, new URL(request.url).searchParams, fallbackDtype);
}

function parseJson(body: Uint8Array): ScoreInput {
  let value: unknown;
  try {
    value = JSON.parse(new TextDecoder().decode(body));
  } catch {
    throw new HttpError(400, 'body is not valid JSON');
  }
  if (typeof value !== 'object' || value === null) throw new HttpError(400, 'JSON body must be an object { img, txt }');
  const record = value as Record<string, unknown>;
  return {
    img: jsonMatrix(record.img, 'img'),
    txt: jsonMatrix(record.txt, 'txt'),
    precision: parsePrecision(record.precision, 'field precision'),
  };
}

function jsonMatrix(value: unknown, name: string): Embeddings {
  if (!Array.isArray(value) || value.length === 0)
    throw new HttpError(400, `${name} must be a non-empty array of rows`);
  const first = value[0];
  if (!Array.isArray(first) || first.length === 0)
    throw new HttpError(400, `${name}[0] must be a non-empty array of numbers`);
  const rows = value.length;
  const dim = first.length;
  const data = new Float32Array(rows * dim);
  for (let r = 0; r < rows; r++) {
    const row: unknown = value[r];
    if (!Array.isArray(row) || row.length !== dim)
      throw new HttpError(400, `${name}[${r}] must be an array of ${dim} numbers`);
    for (let c = 0; c < dim; c++) {
      const x: unknown = row[c];
      if (typeof x !== 'number') throw new HttpError(400, `${name}[${r}][${c}] is not a number`);
      data[r * dim + c] = x;
    }
  }
  return { data, rows, dim };
}

function parseRaw(body: Uint8Array, query: URLSearchParams, fallbackDtype: string | undefined): ScoreInput {
  const rows = positiveInteger(query.get('rows'), 'rows');
  const dim = positiveInteger(query.get('dim'), 'dim');
  const dtype = query.get('dtype') ?? fallbackDtype;
  if (dtype !== 'float16' && dtype !== 'float32') {
    throw new HttpError(400, `query parameter dtype must be float16 or float32, got '${dtype ?? ''}'`);
  }
  const bytesPerValue = dtype === 'float16' ? 2 : 4;
  const matrixBytes = rows * dim * bytesPerValue;
  if (body.byteLength !== 2 * matrixBytes) {
    throw new HttpError(
      400,
      `body has ${body.byteLength} bytes; ${rows} image rows and ${rows} text rows of ${dim} ${dtype} need ${2 * matrixBytes}`,
    );
  }
  // slice() copies into fresh, aligned buffers: the body's own offset may be odd.
  const matrix = (from: number): Embeddings => {
    const bytes = body.slice(from, from + matrixBytes);
    const data = dtype === 'float16' ? new Uint16Array(bytes.buffer) : new Float32Array(bytes.buffer);
    return { data, rows, dim };
  };
  return { img: matrix(0), txt: matrix(matrixBytes) };
}

async function parseNpyPair(body: Uint8Array): Promise<ScoreInput> {
  const img = await npyMatrix(body, 'img (first .npy)');
  const rest = body.subarray(img.byteLength);
  if (rest.byteLength === 0)
    throw new HttpError(400, 'body holds one .npy; send the image .npy followed by the text .npy');
  const txt = await npyMatrix(rest, 'txt (second .npy)');
  if (txt.byteLength !== rest.byteLength)
    throw new HttpError(400, `${rest.byteLength - txt.byteLength} bytes follow the second .npy`);
  return { img: img.embeddings, txt: txt.embeddings };
}

async function parseMultipart(request: Request): Promise<ScoreInput> {
  let form: FormData;
  try {
    form = await request.formData();
  } catch {
    throw new HttpError(400, 'multipart body could not be parsed');
  }
  const part = async (name: 'img' | 'txt'): Promise<Embeddings> => {
    const value = form.get(name);
    if (value === null || typeof value === 'string')
      throw new HttpError(400, `multipart body needs a file part named '${name}' holding an .npy`);
    const bytes = new Uint8Array(await value.arrayBuffer());
    const parsed = await npyMatrix(bytes, name);
    if (parsed.byteLength !== bytes.byteLength)
      throw new HttpError(400, `${name}: ${bytes.byteLength - parsed.byteLength} bytes follow the .npy data`);
    return parsed.embeddings;
  };
  return { img: await part('img'), txt: await part('txt') };
}

/**
 * Parses the .npy at the start of `bytes` (more may follow: the two-file body) through the io reader;
 * returns the matrix and how many bytes the file spans.
 */
async function npyMatrix(bytes: Uint8Array, name: string): Promise<{ embeddings: Embeddings; byteLength: number }> {
  try {
    const header = await readNpyHeader(bytesSource(name, bytes));
    const dtype = embeddingDtype(name, header.descr);
    // BigInt: a hostile shape must not wrap around into a plausible size.
    const dataBytes = header.shape.reduce<bigint>((n, d) => n * BigInt(d), BigInt(itemSize(dtype)));
    if (dataBytes > BigInt(bytes.byteLength - header.dataOffset)) {
      throw new HttpError(
        400,
        `${name}: truncated: shape (${header.shape.join(', ')}) needs ${dataBytes} data bytes but ${bytes.byteLength - header.dataOffset} are present`,
      );
    }
    const byteLength = header.dataOffset + Number(dataBytes);
    const npy = await openNpy(bytesSource(name, bytes.subarray(0, byteLength)));
    if (npy.rows === 0 || npy.dim === 0) throw new HttpError(400, `${name}: .npy holds no values`);
    const data = await npy.readRows(0, npy.rows);
    return { embeddings: { data, rows: npy.rows, dim: npy.dim }, byteLength };
  } catch (error) {
    if (error instanceof HttpError) throw error;
    throw new HttpError(400, error instanceof Error ? error.message : `${name}: not a readable .npy`);
  }
}

/** Shapes agree, the batch is within the cap, and every value is finite (first bad row named). */
function checkPair({ img, txt }: ScoreInput, maxRows: number): void {
  if (img.rows !== txt.rows) throw new HttpError(400, `img has ${img.rows} rows but txt has ${txt.rows}`);
  if (img.dim !== txt.dim) throw new HttpError(400, `img has dim ${img.dim} but txt has dim ${txt.dim}`);
  if (img.rows > maxRows) throw new HttpError(413, `${img.rows} rows is more than the limit of ${maxRows} per request`);
  for (const [name, matrix] of [
    ['img', img],
    ['txt', txt],
  ] as const) {
    const bad = firstNonFiniteRow(matrix);
    if (bad >= 0) throw new HttpError(400, `${name} row ${bad} holds a NaN or infinite value`);
  }
}

function positiveInteger(text: string | null, name: string): number {
  const value = Number(text);
  if (text === null || text.trim() === '' || !Number.isSafeInteger(value) || value < 1) {
    throw new HttpError(400, `query parameter ${name} must be a positive integer, got '${text ?? ''}'`);
  }
  return value;
}
