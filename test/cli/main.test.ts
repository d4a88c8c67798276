import { existsSync, readFileSync } from 'node:fs';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { main } from '../../src/cli/main.js';
import { captureOutput } from './helpers.js';

/** Runs main (from src) in-process and captures what it writes to stdout and stderr. */
const run = (argv: string[]) => captureOutput(() => main(argv));

afterEach(() => {
  delete process.env.CLIPSIFT_DEBUG;
});

describe('clipsift dispatcher', () => {
  it('lists the commands that exist with their summaries', async () => {
    const { code, stdout } = await run(['--help']);
    expect(code).toBe(0);
    expect(stdout).toMatch(/^usage: clipsift <command>/);
    expect(stdout).toMatch(/^ {2}inspect +\S/m);
    expect(stdout).toMatch(/^ {2}serve-demo +\S/m);
  });

  it("shows a command's usage for --help and for `help <command>`", async () => {
    const a = await run(['inspect', '--help']);
    const b = await run(['help', 'inspect']);
    expect(a.code).toBe(0);
    expect(a.stdout).toMatch(/clipsift inspect/);
    expect(b.stdout).toBe(a.stdout);
  });

  it('answers no arguments and unknown commands with usage on stderr and exit 2', async () => {
    const none = await run([]);
    expect(none.code).toBe(2);
    expect(none.stderr).toMatch(/^usage: clipsift/);
    const unknown = await run(['frobnicate']);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/^clipsift: unknown command 'frobnicate' \(commands: [^)]*inspect/);
  });

  it('reports an unknown option as a one-line usage error, exit 2', async () => {
    const { code, stderr, stdout } = await run(['inspect', '--no-such-option', 'x.npy']);
    expect(code).toBe(2);
    expect(stdout).toBe('');
    expect(stderr.trimEnd().split('\n')).toHaveLength(1);
    expect(stderr).toMatch(/^clipsift inspect: .*--no-such-option.*\(see clipsift inspect --help\)\n$/);
  });

  it('guesses a mistyped command or option, and guesses nothing for a word far from all of them', async () => {
    const command = await run(['scroe', 'x']);
    expect(command.code).toBe(2);
    expect(command.stderr).toMatch(/^clipsift: unknown command 'scroe'; did you mean 'score'\? \(commands: /);
    expect((await run(['serve-dmeo'])).stderr).toContain("did you mean 'serve-demo'?");
    expect((await run(['frobnicate'])).stderr).not.toContain('did you mean');
    const option = await run(['score', 'pool', '--out', 'o', '--bacth-size', '64']);
    expect(option.code).toBe(2);
    expect(option.stderr).toBe(
      "clipsift score: unknown option '--bacth-size'; did you mean '--batch-size'? (see clipsift score --help)\n",
    );
    expect((await run(['select', 'scores', '--tpo', 'x:0.3'])).stderr).toContain("did you mean '--top'?");
    expect((await run(['inspect', '--quit', 'x.npy'])).stderr).toContain("did you mean '--quiet'?");
    expect((await run(['inspect', '--zzzzzzzz', 'x.npy'])).stderr).toMatch(/unknown option '--zzzzzzzz' \(see/);
  });

  it('writes every help text in one style: lower-case usage: and options:', async () => {
    for (const name of ['score', 'select', 'subset', 'inspect', 'demo', 'serve-demo', 'serve-edge']) {
      const { code, stdout } = await run([name, '--help']);
      expect(code, name).toBe(0);
      expect(stdout, name).toMatch(new RegExp(`^usage: clipsift ${name}`));
      expect(stdout, name).not.toMatch(/^(Usage|Options):/m);
    }
  });

  it('reports bad input as one line with exit 1, and a stack only with CLIPSIFT_DEBUG=1', async () => {
    const quiet = await run(['inspect', '/nonexistent/clipsift/file.npy']);
    expect(quiet.code).toBe(1);
    expect(quiet.stderr).toMatch(/^clipsift inspect: .*\/nonexistent\/clipsift\/file\.npy.*\n$/);
    expect(quiet.stderr.trimEnd().split('\n')).toHaveLength(1);
    process.env.CLIPSIFT_DEBUG = '1';
    const debug = await run(['inspect', '/nonexistent/clipsift/file.npy']);
    expect(debug.code).toBe(1);
    expect(debug.stderr.split('\n').length).toBeGreaterThan(2);
    expect(debug.stderr).toMatch(/\n\s+at /);
  });

  it('prints the package version', async () => {
    const { code, stdout } = await run(['--version']);
    expect(code).toBe(0);
    expect(stdout).toMatch(/^\d+\.\d+\.\d+/);
  });
});

describe('command registry', () => {
  afterEach(() => {
    vi.doUnmock('../../src/cli/serve-demo.js');
    vi.resetModules();
  });

  it('fails loudly, naming the command, when a command module cannot be loaded (the listing does not skip it)', async () => {
    vi.resetModules();
    vi.doMock('../../src/cli/serve-demo.js', () => {
      throw new Error('simulated broken module');
    });
    const fresh = (await import('../../src/cli/main.js')).main;
    const listing = await captureOutput(() => fresh(['--help']));
    expect(listing.code).toBe(1);
    expect(listing.stderr).toMatch(/^clipsift help: cannot load the serve-demo command: /);
    const running = await captureOutput(() => fresh(['serve-demo']));
    expect(running.code).toBe(1);
    expect(running.stderr).toMatch(/^clipsift serve-demo: cannot load the serve-demo command/);
    // The other commands still run.
    expect((await captureOutput(() => fresh(['inspect', '--help']))).code).toBe(0);
  });

  it('imports every command by a literal module name, one module per listed command', () => {
    const source = readFileSync(new URL('../../src/cli/main.ts', import.meta.url), 'utf8');
    const imports = [...source.matchAll(/\bimport\(([^)]*)\)/g)].map((m) => m[1]!);
    expect(imports.length).toBeGreaterThan(0);
    for (const specifier of imports) expect(specifier).toMatch(/^'\.\/[a-z-]+\.js'$/);
    const names = imports.map((s) => s.slice(3, -4));
    for (const name of names) expect(existsSync(new URL(`../../src/cli/${name}.ts`, import.meta.url))).toBe(true);
  });
});
