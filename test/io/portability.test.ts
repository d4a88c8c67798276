/** src/io must run unchanged in browsers, Deno and workers: only node-*.ts may use Node's modules. */
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { expect, it } from 'vitest';

const IO = fileURLToPath(new URL('../../src/io/', import.meta.url));

it('no module outside node-*.ts imports node: builtins or Node globals', () => {
  const portable = readdirSync(IO).filter((f) => f.endsWith('.ts') && !f.startsWith('node-'));
  expect(portable.length).toBeGreaterThan(5);
  for (const file of portable) {
    const text = readFileSync(IO + file, 'utf8');
    expect(text, file).not.toMatch(/from ['"](node:|fs|path|os|crypto)['"/]/);
    expect(text, file).not.toMatch(/\b(process|Buffer|require)\s*[.(]/);
    if (file !== 'index.ts') continue;
    expect(text, 'index.ts re-exports node-files').not.toMatch(/from '.\/node-/);
  }
});
