// The layering README's Layout section states, checked on every relative import under src/.
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, normalize, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const SRC = fileURLToPath(new URL('../src/', import.meta.url));
const SHELLS = ['cli', 'web', 'edge'];

/** Layers each layer may not import (its own files and anything not listed are allowed). */
const FORBIDDEN: Record<string, string[]> = {
  numeric: ['*'],
  engine: ['io', 'select', 'sample', 'pipeline', 'cluster', ...SHELLS],
  io: ['engine', 'select', 'sample', 'pipeline', 'cluster', ...SHELLS],
  select: ['sample', 'pipeline', 'cluster', ...SHELLS],
  sample: ['pipeline', 'cluster', ...SHELLS],
  pipeline: ['cluster', ...SHELLS],
  cluster: SHELLS,
  cli: ['web', 'edge'],
  web: ['cli', 'edge'],
  edge: ['cli', 'web'],
};

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory() ? sources(join(dir, entry.name)) : entry.name.endsWith('.ts') ? [join(dir, entry.name)] : [],
  );
}

const layerOf = (path: string) => {
  const parts = relative(SRC, path).split(/[\\/]/);
  return parts.length > 1 ? parts[0]! : '(root)';
};

describe('layering', () => {
  it('no layer imports one it must not', () => {
    const violations: string[] = [];
    for (const file of sources(SRC)) {
      const from = layerOf(file);
      const text = readFileSync(file, 'utf8');
      for (const match of text.matchAll(/(?:\bfrom\s*|\bimport\s*\(\s*)'(\.{1,2}\/[^']+)'/g)) {
        const to = layerOf(normalize(join(dirname(file), match[1]!)));
        if (to === from) continue;
        const forbidden = FORBIDDEN[from] ?? [];
        if (forbidden.includes('*') || forbidden.includes(to)) violations.push(`${relative(SRC, file)} → ${match[1]}`);
      }
    }
    expect(violations).toEqual([]);
  });
});
