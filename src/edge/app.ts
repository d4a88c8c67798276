/**
 * The edge function: routes, limits and error mapping over one single-threaded engine per isolate.
 * Runtime entries (handler.ts for workerd, deno.ts for `deno serve`) only say where the kernel module
 * and the bundled target come from.
 *
 *   POST /score   image + text embeddings → clip_score, negclip_loss (the posted rows are one batch),
 *                 normsim_inf (against the bundled target rows) and normsim_2 (against their bundled
 *                 Gram matrix)
 *   GET  /health  build variant, engine info, target shape (and what each p is prepared from), limits
 */
import {
  createEngine,
  NEGCLIP_LOSS_DEFAULTS,
  firstOverlargeRow,
  maxFiniteNorm,
  type Embeddings,
  type Engine,
  type EngineOptions,
  type Precision,
  type Target,
} from '../index.js';
import { CLIP_SCORE_COLUMN, NEGCLIP_LOSS_COLUMN, normSimColumn } from '../io/score-columns.js';
import { parseScoreRequest, type ParseLimits } from './parse.js';
import { errorResponse, HttpError } from './http-error.js';
import { scoresResponse, wantsBinary } from './respond.js';
import { decodeBundledGram, decodeBundledTarget } from './target.js';
import { targetUrlConfig, UrlTargets, type TargetUrlConfig } from './target-url.js';

export interface EdgeLimits extends ParseLimits {}

/** Defaults sized for crawler-side scoring: a 4096 × 768 float32 pair is 25 MiB of body. */
export const DEFAULT_LIMITS: EdgeLimits = {
  maxBodyBytes: 32 * 1024 * 1024,
  maxJsonBytes: 8 * 1024 * 1024,
  maxRows: 4096,
};

export interface ScoreAppOptions {
  /** Which SIMD build is bundled, for /health. */
  variant: string;
  /** The kernel module (precompiled where the runtime requires it). */
  kernels: () => Promise<NonNullable<EngineOptions['module']>>;
  /** The bundled target .npy (the rows, for NormSim_∞): its name and bytes. */
  target: () => Promise<{ name: string; bytes: Uint8Array }>;
  /** The bundled Gram matrix of those rows (target.gram.bin, for NormSim_2): its name and bytes. */
  gram: () => Promise<{ name: string; bytes: Uint8Array }>;
  /** Limits over the defaults; deployment variables override them. */
  limits?: Partial<EdgeLimits>;
  /**
   * Deployment variables where the runtime passes no env to fetch (Deno: its environment); Worker vars
   * (fetch's env) win. Every setting is read per request through deploymentVariables: MAX_BODY_BYTES,
   * MAX_JSON_BYTES and MAX_ROWS (limitsFromVariables), TARGET_URL_PREFIXES and MAX_TARGET_BYTES (target-url.ts).
   */
  variables?: (name: string) => unknown;
}

/** What NormSim is measured against in one request: the bundled target or one read from a URL. */
interface TargetSet {
  /** How messages name it: "the bundled target", "the target <url>". */
  description: string;
  shape: [number, number];
  normSimInf: Target;
  normSim2: Target;
}

interface Ready {
  engine: Engine;
  targetName: string;
  gramName: string | undefined;
  targetShape: [number, number];
  /** The bundled target, prepared for both p. */
  bundled: { shape: [number, number]; normSimInf: Target; normSim2: Target };
}

export interface FetchHandler {
  fetch(request: Request, env?: unknown): Promise<Response>;
}

export function createScoreApp(options: ScoreAppOptions): FetchHandler {
  // Opened on the first request, not at import: workerd allows no I/O or heavy work at global scope.
  let ready: Promise<Ready> | undefined;
  const open = (): Promise<Ready> => {
    ready ??= openReady(options).catch((error: unknown) => {
      ready = undefined; // let the next request retry rather than failing forever
      throw error;
    });
    return ready;
  };

  // Targets named by URL, kept for the life of the isolate.
  const urlTargets = new UrlTargets();

  return {
    async fetch(request: Request, env?: unknown): Promise<Response> {
      const variable = deploymentVariables(env, options.variables);
      const limits = { ...DEFAULT_LIMITS, ...options.limits, ...limitsFromVariables(variable) };
      const targetUrls = targetUrlConfig(variable);
      try {
        return await route(request, { limits, targetUrls, urlTargets }, open, options.variant);
      } catch (error) {
        if (error instanceof HttpError) return errorResponse(error.status, error.message, error.headers);
        // Anything else is our bug: log it where the operator looks, tell the client nothing more.
        console.error('clipsift edge: internal error:', error);
        return errorResponse(500, 'internal error');
      }
    },
  };
}

/** What a request is handled with besides the engine: this deployment's settings and the isolate's URL targets. */
interface Deployment {
  limits: EdgeLimits;
  targetUrls: TargetUrlConfig;
  urlTargets: UrlTargets;
}

async function route(
  request: Request,
  { limits, targetUrls, urlTargets }: Deployment,
  open: () => Promise<Ready>,
  variant: string,
): Promise<Response> {
  const { pathname } = new URL(request.url);
  if (pathname === '/health') {
    if (request.method !== 'GET' && request.method !== 'HEAD') throw methodNotAllowed('GET, HEAD');
    const { engine, targetName, gramName, targetShape } = await open();
    return Response.json({
      status: 'ok',
      variant,
      engine: engine.info(),
      target: {
        name: targetName,
        rows: targetShape[0],
        dim: targetShape[1],
        p: ['inf', '2'],
        // NormSim_∞ from the bundled rows; NormSim_2 from their bundled d × d Gram matrix when the
        // target has more rows than dims, else from the rows.
        prepared: {
          inf: { from: 'rows', file: targetName },
          '2': gramName ? { from: 'gram', file: gramName } : { from: 'rows', file: targetName },
        },
      },
      limits,
      // POST /score?target=<url> reads a target from URLs under these prefixes.
      targetUrls,
    });
  }
  if (pathname === '/score') {
    if (request.method !== 'POST') throw methodNotAllowed('POST');
    const input = await parseScoreRequest(request, limits);
    const ready = await open();
    const url = new URL(request.url).searchParams.get('target');
    const target: TargetSet =
      url === null
        ? { description: 'the bundled target', ...ready.bundled }
        : { description: `the target ${url}`, ...(await urlTargets.get(url, targetUrls, ready.engine)) };
    const columns = await score(ready.engine, target, input.img, input.txt, input.precision ?? 'f32');
    return scoresResponse(columns, input.img.rows, wantsBinary(request));
  }
  throw new HttpError(404, `no route ${pathname}; use POST /score or GET /health`);
}

async function score(
  engine: Engine,
  target: TargetSet,
  img: Embeddings,
  txt: Embeddings,
  precision: Precision,
): Promise<Record<string, Float32Array>> {
  const targetDim = target.shape[1];
  if (img.dim !== targetDim)
    throw new HttpError(400, `embeddings have dim ${img.dim} but ${target.description} has dim ${targetDim}`);
  // Finite rows so long that their scores would overflow float32 (and poison the batch's negCLIPLoss).
  const limit = maxFiniteNorm(NEGCLIP_LOSS_DEFAULTS.temperature);
  for (const [name, matrix] of [
    ['img', img],
    ['txt', txt],
  ] as const) {
    const found = firstOverlargeRow(matrix, limit);
    if (found)
      throw new HttpError(
        400,
        `${name} row ${found.row} has norm ${found.norm.toPrecision(3)}, beyond ${limit.toPrecision(3)}: its scores would not be finite; send L2-normalised embeddings`,
      );
  }
  // The score file's column names, so a response reads like a score file's row group.
  try {
    return {
      [CLIP_SCORE_COLUMN]: await engine.clipScore(img, txt, { precision }),
      // The posted rows are the batch, scored once: with one batch the shuffle does not matter.
      [NEGCLIP_LOSS_COLUMN]: await engine.negClipLoss(img, txt, {
        batchSize: img.rows,
        temperature: NEGCLIP_LOSS_DEFAULTS.temperature,
        repeats: 1,
        seed: 0,
        precision,
      }),
      [normSimColumn(Infinity)]: await engine.normSim(img, target.normSimInf, { precision }),
      [normSimColumn(2)]: await engine.normSim(img, target.normSim2, { precision }),
    };
  } catch (error) {
    // The engine refuses to return a non-finite score: answer why, never 200 with null.
    if (error instanceof RangeError) throw new HttpError(400, error.message.replace(/^clipsift: /, ''));
    throw error;
  }
}

async function openReady(options: ScoreAppOptions): Promise<Ready> {
  const [module, targetFile, gramFile] = await Promise.all([options.kernels(), options.target(), options.gram()]);
  // Threads need SharedArrayBuffer and Worker, which edge runtimes do not offer.
  const engine = await createEngine({ threads: 1, simd: 'baseline', module });
  const target = await decodeBundledTarget(targetFile.name, targetFile.bytes);
  const gram = decodeBundledGram(gramFile.name, gramFile.bytes);
  const { rows, dim } = target.embeddings;
  if (gram && (gram.rows !== rows || gram.dim !== dim)) {
    // A deployment whose two files come from different builds: refuse rather than score against two targets.
    throw new Error(
      `${gramFile.name} is the Gram matrix of ${gram.rows} × ${gram.dim} rows, but ${targetFile.name} is ${rows} × ${dim}; rebuild with scripts/build-edge.js`,
    );
  }
  return {
    engine,
    targetName: target.name,
    gramName: gram ? gramFile.name : undefined,
    targetShape: [rows, dim],
    bundled: {
      shape: [rows, dim],
      normSimInf: await engine.prepareTarget(target.embeddings, { p: Infinity }),
      normSim2: await engine.prepareTarget(gram ?? target.embeddings, { p: 2 }),
    },
  };
}

function methodNotAllowed(allow: string): HttpError {
  return new HttpError(405, `method not allowed; this route accepts ${allow}`, { allow });
}

/**
 * The one reader of deployment variables: a Worker var (fetch's `env`) by that name, else the runtime's
 * own (`ScoreAppOptions.variables`: Deno's environment), else undefined.
 */
function deploymentVariables(env: unknown, runtime?: (name: string) => unknown): (name: string) => unknown {
  const vars = typeof env === 'object' && env !== null ? (env as Record<string, unknown>) : {};
  return (name) => vars[name] ?? runtime?.(name);
}

/**
 * Limits from deployment variables (MAX_BODY_BYTES, MAX_JSON_BYTES, MAX_ROWS): positive whole numbers
 * override the defaults, anything else is ignored.
 */
function limitsFromVariables(read: (name: string) => unknown): Partial<EdgeLimits> {
  const limits: Partial<EdgeLimits> = {};
  const names: [keyof EdgeLimits, string][] = [
    ['maxBodyBytes', 'MAX_BODY_BYTES'],
    ['maxJsonBytes', 'MAX_JSON_BYTES'],
    ['maxRows', 'MAX_ROWS'],
  ];
  for (const [key, name] of names) {
    const text = read(name);
    const value = Number(text);
    if (text !== undefined && Number.isSafeInteger(value) && value > 0) limits[key] = value;
  }
  return limits;
}
