/**
 * `select --preset NAME`: the paper's recipes and DataComp's baselines by name. A preset is nothing but
 * the select options it expands to, inserted where --preset stands (so steps around it keep their
 * order); `--dry-run` prints the expansion. Percentages in names are of the pool.
 */
import { UsageError } from './args.js';

/** A preset family: a name pattern, what it is, and its expansion. */
interface PresetFamily {
  pattern: RegExp;
  example: string;
  describe: string;
  expand(match: RegExpMatchArray): string[];
}

const pct = (text: string) => `${text}%`;

const FAMILIES: PresetFamily[] = [
  {
    pattern: /^clip-score-(l14|b32)-(\d+(?:\.\d+)?)$/,
    example: 'clip-score-l14-30',
    describe:
      "DataComp's CLIP-score baseline (baselines.py --name clip_score --arch ARCH --fraction P/100) on the metadata's own column, with DataComp's rounding; needs --metadata DIR",
    expand: (m) => ['--top', `clip_${m[1]}_similarity_score:${pct(m[2]!)}`, '--rounding', 'datacomp'],
  },
  {
    pattern: /^negclip-(\d+(?:\.\d+)?)$/,
    example: 'negclip-30',
    describe: 'negCLIPLoss top P % of the pool (the official cs_new with fraction_vas = fraction)',
    expand: (m) => ['--top', `negclip_loss:${pct(m[1]!)}`],
  },
  {
    pattern: /^(negclip|clip-score)-(\d+(?:\.\d+)?)-normsim-(inf|2)-(\d+(?:\.\d+)?)$/,
    example: 'negclip-30-normsim-inf-20',
    describe:
      "the paper's main recipe (official cs_new): negCLIPLoss (or clipsift's CLIPScore) top P % of the pool, then NormSim_p top Q % of the pool",
    expand: (m) => [
      '--top',
      `${m[1] === 'negclip' ? 'negclip_loss' : 'clip_score'}:${pct(m[2]!)}`,
      '--top',
      `normsim_${m[3]}:${pct(m[4]!)}`,
    ],
  },
  {
    pattern: /^image-based$/,
    example: 'image-based',
    describe:
      "DataComp's image-based baseline (baselines.py --name image_based): k-means over the pool's image embeddings, keep the clusters nearest the target's images; needs --embeddings DIR --image-based-target PATH",
    expand: () => ['--image-based'],
  },
  {
    pattern: /^image-based-clip-score-(l14|b32)-(\d+(?:\.\d+)?)$/,
    example: 'image-based-clip-score-l14-30',
    describe:
      "DataComp's image_based_intersect_clip_score: CLIP-score top P % of the pool (metadata column, DataComp rounding), then the image-based filter; needs --metadata, --embeddings and --image-based-target",
    expand: (m) => ['--top', `clip_${m[1]}_similarity_score:${pct(m[2]!)}`, '--rounding', 'datacomp', '--image-based'],
  },
  {
    pattern: /^normsim-d-(\d+(?:\.\d+)?)-clip-score-(\d+(?:\.\d+)?)$/,
    example: 'normsim-d-30-clip-score-20',
    describe:
      'the official vas_d_v2: NormSim_2-D down to P % of the pool on the official schedule with 10 % samples, then CLIPScore top Q % of the pool; needs --embeddings DIR',
    expand: (m) => [
      '--normsim-d',
      '--normsim-d-final',
      pct(m[1]!),
      '--normsim-d-schedule',
      'official',
      '--normsim-d-sample',
      '0.1',
      '--top',
      `clip_score:${pct(m[2]!)}`,
    ],
  },
];

/** The help text's list of preset families. */
export function presetHelp(): string {
  return FAMILIES.map((f) => `  ${f.example.padEnd(28)}${f.describe}`).join('\n');
}

/**
 * The options preset `name` expands to.
 * @throws {UsageError} naming the known families for an unknown name
 */
export function expandPreset(name: string): string[] {
  for (const family of FAMILIES) {
    const match = name.match(family.pattern);
    if (match) return family.expand(match);
  }
  throw new UsageError(
    `unknown preset '${name}'; presets: ${FAMILIES.map((f) => f.example.replace(/\d+(\.\d+)?/g, 'N')).join(', ')} (N a percentage)`,
  );
}

/** argv with every `--preset NAME` (or `--preset=NAME`) replaced by its expansion, in place. */
export function expandPresets(argv: readonly string[]): { argv: string[]; presets: string[] } {
  const out: string[] = [];
  const presets: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    let name: string | undefined;
    if (arg === '--preset') {
      name = argv[++i];
      if (name === undefined) throw new UsageError('--preset needs a NAME');
    } else if (arg.startsWith('--preset=')) name = arg.slice('--preset='.length);
    if (name === undefined) out.push(arg);
    else {
      presets.push(name);
      out.push(...expandPreset(name));
    }
  }
  return { argv: out, presets };
}
