/**
 * The built-in sample pool: a small, DataComp-shaped pool of image-text pairs with planted defects,
 * generated from a seed instead of shipped as a file.
 *
 * ## Construction
 * All vectors live in `dim` dimensions (768 by default, like DataComp's ViT-L/14 embeddings). A few
 * fixed random directions play the part of what CLIP's embedding space is made of:
 * - μ_img and μ_txt, the modality means (real CLIP embeddings sit in two narrow cones; here
 *   μ_img·μ_txt = MODALITY_COSINE so unrelated pairs still score ≈ 0.10, as in real pools);
 * - u_k, one direction per topic (12 topics, see topics.ts), shared by images and captions;
 * - per pair, an "item" direction v shared by the image and its own caption, plus independent noise.
 * An image is  normalise(A·μ_img + B·u_k + C·v + noise), a caption normalise(A·μ_txt + B·u_k + q·C·v + noise),
 * with q a per-pair caption quality in [0.6, 1.3]. So a clean pair scores ≈ 0.10 + 0.08 + 0.14·q,
 * a caption against another image of its topic ≈ 0.18, against anything else ≈ 0.10.
 * Every vector is L2-normalised in float64, then rounded to float16 bits (round to nearest even).
 *
 * Planted defects (the `kind` of each row; a row has exactly one):
 * - `mismatched` (8 %): the caption and its embedding come from another topic (a wrong alt-text).
 *   Both CLIPScore and negCLIPLoss reject these.
 * - `generic` (4 %): a caption like "photo of a thing" whose embedding leans towards μ_img, the mean of
 *   all images: it scores ≈ 0.10 + A·GENERIC_PULL ≈ 0.35 against its own image and against every other
 *   image too. CLIPScore ranks these among the best pairs; negCLIPLoss, whose batch normalisation sees
 *   that the caption fits the whole batch, ranks them low.
 * - `duplicate` (6 %): groups of DUPLICATE_GROUP near-identical copies of one pair (tiny noise added),
 *   like re-uploads of one picture. Each copy finds its twins in the batch, which lowers negCLIPLoss by
 *   about τ·log(group size); CLIPScore cannot see them.
 * - `off-target`: otherwise clean pairs from the two topics the target does not cover (documents,
 *   logos). Good captions, so CLIPScore and negCLIPLoss keep them; NormSim against the ImageNet-like
 *   target drops them. Their images also sit a little off the natural-photo cone (weight
 *   OFF_TARGET_MODALITY_WEIGHT < A on μ_img, with a larger topic weight that keeps their CLIPScore level),
 *   as screenshots and clip-art do in CLIP space: so NormSim₂-D, whose target is the bulk of the
 *   selection itself, demotes them too, and negCLIPLoss, which rewards pairs unlike the rest of the
 *   batch, favours them somewhat.
 * - `clean`: everything else.
 * Rows are shuffled, so defects are spread through the pool like in a real shard.
 *
 * The target set (for NormSim) is TARGET_PER_TOPIC fresh images of each in-target topic, drawn like the
 * pool's images: the "ImageNet training set" of this toy world.
 *
 * Only integer PRNG arithmetic and float64 +, ×, ÷ and sqrt are used, so the bytes are the same in
 * Node, Deno, browsers and edge runtimes.
 */
import { RandomStream } from '../numeric/random.js';
import { toFloat16Bits } from '../numeric/float16.js';
import { GENERIC_CAPTIONS, TOPICS } from './topics.js';

/** The planted defect of a row (or `clean`). */
export type RowKind = 'clean' | 'mismatched' | 'generic' | 'duplicate' | 'off-target';
export const ROW_KINDS: readonly RowKind[] = ['clean', 'mismatched', 'generic', 'duplicate', 'off-target'];

/** A matrix of float16 embeddings, raw bits, row-major: the engine's `Embeddings` shape. */
export interface Float16Matrix {
  data: Uint16Array;
  rows: number;
  dim: number;
}

/** The generated pool. Row i of every field describes the same pair. */
export interface SamplePool {
  seed: number;
  /** 32 lowercase hex digits each, unique, like DataComp uids. */
  uids: string[];
  captions: string[];
  urls: string[];
  /** Index into `topicNames` of the image's topic. */
  topics: Uint8Array;
  topicNames: readonly string[];
  kinds: RowKind[];
  image: Float16Matrix;
  text: Float16Matrix;
  /** Image embeddings of the target set (in-target topics only). */
  target: Float16Matrix;
}

export interface SamplePoolOptions {
  /** Default 0. */
  seed?: number;
  /** Number of pairs; default 4000. */
  rows?: number;
  /** Embedding width; default 768. The score levels above hold for widths in the hundreds. */
  dim?: number;
}

const MODALITY_WEIGHT = 0.6; // A
const TOPIC_WEIGHT = 0.283; // B: B² ≈ 0.08
const ITEM_WEIGHT = 0.374; // C: C² ≈ 0.14
const MODALITY_COSINE = 0.28; // A²·0.28 ≈ 0.10
// Images of off-target topics (documents, logos) sit off the natural-photo cone: less of μ_img.
const OFF_TARGET_MODALITY_WEIGHT = 0.58;
// …and more of their topic, so that their clean pairs still score like the others on CLIPScore:
// A_off·A·c + B_off·B = A·A·c + B·B.
const OFF_TARGET_TOPIC_WEIGHT =
  TOPIC_WEIGHT + ((MODALITY_WEIGHT - OFF_TARGET_MODALITY_WEIGHT) * MODALITY_WEIGHT * MODALITY_COSINE) / TOPIC_WEIGHT;
const GENERIC_PULL = 0.42; // generic captions' weight on μ_img
const DUPLICATE_GROUP = 6;
const DUPLICATE_NOISE = 0.04;
const TARGET_PER_TOPIC = 16;
const SHARE_MISMATCHED = 0.08;
const SHARE_GENERIC = 0.04;
const SHARE_DUPLICATE = 0.06;

interface PairPlan {
  kind: RowKind;
  topic: number;
  /** Topic of the caption (differs from `topic` for mismatched pairs). */
  captionTopic: number;
}

/** Generates the sample pool for `options.seed`; the same options always give the same bytes. */
export function generateSamplePool(options: SamplePoolOptions = {}): SamplePool {
  const seed = options.seed ?? 0;
  const rows = options.rows ?? 4000;
  const dim = options.dim ?? 768;
  if (!Number.isInteger(rows) || rows < DUPLICATE_GROUP)
    throw new Error(`sample pool needs at least ${DUPLICATE_GROUP} rows, got ${rows}`);
  if (!Number.isInteger(dim) || dim < 2) throw new Error(`sample pool needs dim ≥ 2, got ${dim}`);

  const random = new RandomStream(seed);
  const space = makeSpace(random, dim);
  const plans = planPairs(random, rows);

  const pool: SamplePool = {
    seed,
    uids: [],
    captions: [],
    urls: [],
    topics: new Uint8Array(rows),
    topicNames: TOPICS.map((t) => t.name),
    kinds: [],
    image: { data: new Uint16Array(rows * dim), rows, dim },
    text: { data: new Uint16Array(rows * dim), rows, dim },
    target: { data: new Uint16Array(0), rows: 0, dim },
  };
  const seenUids = new Set<string>();
  const image = new Float64Array(dim);
  const text = new Float64Array(dim);
  let row = 0;
  for (const plan of plans) {
    const copies = plan.kind === 'duplicate' ? DUPLICATE_GROUP : 1;
    drawImage(random, space, plan.topic, image);
    const caption = plan.kind === 'generic' ? random.pick(GENERIC_CAPTIONS) : drawCaption(random, plan.captionTopic);
    drawText(random, space, plan, text);
    // Captions of mismatched pairs describe another item entirely: their item direction must not be the image's.
    for (let copy = 0; copy < copies; copy++) {
      let uid = random.hex32();
      while (seenUids.has(uid)) uid = random.hex32();
      seenUids.add(uid);
      pool.uids.push(uid);
      pool.captions.push(caption);
      pool.urls.push(drawUrl(random, plan.topic));
      pool.topics[row] = plan.topic;
      pool.kinds.push(plan.kind);
      const noise = copy === 0 ? 0 : DUPLICATE_NOISE;
      writeRow(random, image, noise, pool.image.data, row);
      writeRow(random, text, noise, pool.text.data, row);
      row++;
    }
  }

  const targetTopics = TOPICS.flatMap((t, k) => (t.inTarget ? [k] : []));
  const target = new Uint16Array(targetTopics.length * TARGET_PER_TOPIC * dim);
  let targetRow = 0;
  for (const topic of targetTopics) {
    for (let i = 0; i < TARGET_PER_TOPIC; i++) {
      drawImage(random, space, topic, image);
      writeRow(random, image, 0, target, targetRow++);
    }
  }
  pool.target = { data: target, rows: targetRow, dim };
  return pool;
}

/** The fixed directions of the toy embedding space. */
interface Space {
  dim: number;
  imageMean: Float64Array;
  textMean: Float64Array;
  topicDirections: Float64Array[];
  /** Scratch for one row's item direction, shared by the image and caption of a pair. */
  item: Float64Array;
}

function makeSpace(random: RandomStream, dim: number): Space {
  const imageMean = randomUnit(random, dim);
  const textOwn = randomUnit(random, dim);
  // μ_txt = c·μ_img + √(1-c²)·(a random direction): a fixed cosine between the two cones.
  const textMean = new Float64Array(dim);
  const side = Math.sqrt(1 - MODALITY_COSINE * MODALITY_COSINE);
  for (let i = 0; i < dim; i++) textMean[i] = MODALITY_COSINE * imageMean[i]! + side * textOwn[i]!;
  normalise(textMean);
  const topicDirections = TOPICS.map(() => randomUnit(random, dim));
  return { dim, imageMean, textMean, topicDirections, item: new Float64Array(dim) };
}

/** Decides every pair's kind and topics, then shuffles the order; duplicates count as whole groups. */
function planPairs(random: RandomStream, rows: number): PairPlan[] {
  const duplicateGroups = Math.floor((rows * SHARE_DUPLICATE) / DUPLICATE_GROUP);
  const mismatched = Math.round(rows * SHARE_MISMATCHED);
  const generic = Math.round(rows * SHARE_GENERIC);
  const single = rows - duplicateGroups * DUPLICATE_GROUP;
  const plans: PairPlan[] = [];
  const anyTopic = (): number => random.below(TOPICS.length);
  for (let i = 0; i < duplicateGroups; i++) {
    const topic = anyTopic();
    plans.push({ kind: 'duplicate', topic, captionTopic: topic });
  }
  for (let i = 0; i < single; i++) {
    const topic = anyTopic();
    if (i < mismatched) {
      const other = (topic + 1 + random.below(TOPICS.length - 1)) % TOPICS.length;
      plans.push({ kind: 'mismatched', topic, captionTopic: other });
    } else if (i < mismatched + generic) {
      plans.push({ kind: 'generic', topic, captionTopic: topic });
    } else {
      plans.push({ kind: TOPICS[topic]!.inTarget ? 'clean' : 'off-target', topic, captionTopic: topic });
    }
  }
  return random.shuffle(plans);
}

/** An image of `topic`; also draws the pair's item direction into space.item for its caption. */
function drawImage(random: RandomStream, space: Space, topic: number, out: Float64Array): void {
  fillNormal(random, space.item);
  normalise(space.item);
  const inTarget = TOPICS[topic]!.inTarget;
  const modality = inTarget ? MODALITY_WEIGHT : OFF_TARGET_MODALITY_WEIGHT;
  const topicWeight = inTarget ? TOPIC_WEIGHT : OFF_TARGET_TOPIC_WEIGHT;
  const noise = Math.sqrt(1 - modality ** 2 - topicWeight ** 2 - ITEM_WEIGHT ** 2);
  const u = space.topicDirections[topic]!;
  const scale = noise / Math.sqrt(space.dim);
  for (let i = 0; i < space.dim; i++) {
    out[i] =
      modality * space.imageMean[i]! + topicWeight * u[i]! + ITEM_WEIGHT * space.item[i]! + scale * random.normal();
  }
  normalise(out);
}

/** The caption embedding of `plan`, for the image drawn just before (space.item). */
function drawText(random: RandomStream, space: Space, plan: PairPlan, out: Float64Array): void {
  const dim = space.dim;
  if (plan.kind === 'generic') {
    // Leans towards the mean of all images, with a touch of nothing in particular.
    const pull = GENERIC_PULL * (0.9 + 0.25 * random.uniform());
    const scale = Math.sqrt(Math.max(0, 1 - MODALITY_WEIGHT ** 2 - pull ** 2)) / Math.sqrt(dim);
    for (let i = 0; i < dim; i++)
      out[i] = MODALITY_WEIGHT * space.textMean[i]! + pull * space.imageMean[i]! + scale * random.normal();
  } else {
    const quality = 0.6 + 0.7 * random.uniform();
    const itemWeight = ITEM_WEIGHT * quality;
    if (plan.kind === 'mismatched') {
      // Another item altogether: a fresh item direction, not the image's.
      fillNormal(random, space.item);
      normalise(space.item);
    }
    const u = space.topicDirections[plan.captionTopic]!;
    const scale =
      Math.sqrt(Math.max(0, 1 - MODALITY_WEIGHT ** 2 - TOPIC_WEIGHT ** 2 - itemWeight ** 2)) / Math.sqrt(dim);
    for (let i = 0; i < dim; i++) {
      out[i] =
        MODALITY_WEIGHT * space.textMean[i]! +
        TOPIC_WEIGHT * u[i]! +
        itemWeight * space.item[i]! +
        scale * random.normal();
    }
  }
  normalise(out);
}

/** Writes `vector` (plus `noise`-sized fresh noise, renormalised) as float16 bits into row `row` of `out`. */
function writeRow(random: RandomStream, vector: Float64Array, noise: number, out: Uint16Array, row: number): void {
  const dim = vector.length;
  const offset = row * dim;
  if (noise === 0) {
    for (let i = 0; i < dim; i++) out[offset + i] = toFloat16Bits(vector[i]!);
    return;
  }
  const noisy = new Float64Array(dim);
  const scale = noise / Math.sqrt(dim);
  for (let i = 0; i < dim; i++) noisy[i] = vector[i]! + scale * random.normal();
  normalise(noisy);
  for (let i = 0; i < dim; i++) out[offset + i] = toFloat16Bits(noisy[i]!);
}

function drawCaption(random: RandomStream, topic: number): string {
  const t = TOPICS[topic]!;
  const parts: string[] = [];
  if (random.uniform() < 0.7) parts.push(random.pick(t.qualifiers));
  parts.push(random.pick(t.subjects));
  if (random.uniform() < 0.7) parts.push(random.pick(t.settings));
  return parts.join(' ');
}

function drawUrl(random: RandomStream, topic: number): string {
  const t = TOPICS[topic]!;
  return `https://${random.pick(t.hosts)}/${t.name}/${random.nextUint32().toString(16).padStart(8, '0')}.jpg`;
}

function randomUnit(random: RandomStream, dim: number): Float64Array {
  const v = new Float64Array(dim);
  fillNormal(random, v);
  return normalise(v);
}

function fillNormal(random: RandomStream, out: Float64Array): void {
  for (let i = 0; i < out.length; i++) out[i] = random.normal();
}

function normalise(v: Float64Array): Float64Array {
  let sum = 0;
  for (let i = 0; i < v.length; i++) sum += v[i]! * v[i]!;
  const inv = 1 / Math.sqrt(sum);
  for (let i = 0; i < v.length; i++) v[i] = v[i]! * inv;
  return v;
}
