/**
 * The clipsift command line: finds the command named by the first argument and runs it.
 *
 * Commands live one per module (src/cli/<name>.ts), each exporting `command` (see command.ts). They
 * are imported lazily, so `clipsift score` does not load the web demo's server and a command that is
 * not built into this copy is simply absent from the listing rather than breaking the others.
 * Everything here uses node: APIs that Deno 2 also provides; root score.ts runs this same file.
 */
import process from 'node:process';
import type { Command } from './command.js';
import { clipsiftVersion } from '../pipeline/version.js';
import { closestWord } from './words.js';

/** The single registry: every command's module name, in the order `clipsift --help` lists them. */
const COMMAND_NAMES = ['score', 'worker', 'status', 'select', 'subset', 'inspect', 'demo', 'serve-demo'] as const;

const TOP_USAGE = `usage: clipsift <command> [options]

Score and select image-text pretraining data for CLIP from its embeddings
(CLIPScore, negCLIPLoss, NormSim).`;

/**
 * Runs the clipsift command line with `argv` (the arguments after the program name).
 * Resolves to the process exit code: 0 on success, 1 on bad input or a failure, 2 on a usage error.
 * Errors are reported as one line `clipsift <command>: <reason>` on stderr; set CLIPSIFT_DEBUG=1 for stacks.
 */
export async function main(argv: string[]): Promise<number> {
  const [first, ...rest] = argv;
  if (first === undefined) {
    process.stderr.write(`${await topLevelHelp()}\n`);
    return 2;
  }
  if (first === '--help' || first === '-h' || first === 'help') {
    // `clipsift help score` is the same as `clipsift score --help`.
    if (first === 'help' && rest[0] !== undefined) return main([rest[0], '--help']);
    process.stdout.write(`${await topLevelHelp()}\n`);
    return 0;
  }
  if (first === '--version' || first === '-v') {
    process.stdout.write(`${clipsiftVersion()}\n`);
    return 0;
  }

  let command: Command | undefined;
  try {
    command = (COMMAND_NAMES as readonly string[]).includes(first) ? await loadCommand(first) : undefined;
  } catch (error) {
    return report(first, error);
  }
  if (command === undefined) {
    const available = (await availableCommands()).map((c) => c.name);
    const guess = closestWord(first, available);
    process.stderr.write(
      `clipsift: unknown command '${first}'${guess ? `; did you mean '${guess}'?` : ''} (commands: ${available.join(', ')}; see clipsift --help)\n`,
    );
    return 2;
  }
  if (wantsHelp(rest)) {
    process.stdout.write(`${command.usage.trimEnd()}\n`);
    return 0;
  }
  try {
    return await command.run(rest);
  } catch (error) {
    return report(command.name, error);
  }
}

/** True when --help or -h appears before a `--` terminator. */
function wantsHelp(argv: string[]): boolean {
  for (const arg of argv) {
    if (arg === '--') return false;
    if (arg === '--help' || arg === '-h') return true;
  }
  return false;
}

/** Writes the one-line report of a failed command and picks its exit code. */
function report(commandName: string, error: unknown): number {
  const isUsage = error instanceof Error && error.name === 'UsageError';
  const message = error instanceof Error ? error.message : String(error);
  // One line, whatever the thrower put in the message: scripts grep these and terminals wrap them.
  const oneLine = message.replace(/\s*\n\s*/g, ' ').trim() || (error instanceof Error ? error.name : 'failed');
  const hint = isUsage ? ` (see clipsift ${commandName} --help)` : '';
  process.stderr.write(`clipsift ${commandName}: ${oneLine}${hint}\n`);
  if (process.env.CLIPSIFT_DEBUG === '1' && error instanceof Error && error.stack) {
    process.stderr.write(`${error.stack}\n`);
  }
  return isUsage ? 2 : 1;
}

async function topLevelHelp(): Promise<string> {
  const commands = await availableCommands();
  const width = Math.max(...commands.map((c) => c.name.length), 0);
  const lines = commands.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`);
  return [
    TOP_USAGE,
    '',
    'commands:',
    ...lines,
    '',
    "clipsift <command> --help shows a command's options; clipsift --version prints the version.",
    'Set CLIPSIFT_DEBUG=1 to print stack traces with errors.',
  ].join('\n');
}

/** Every command whose module is present in this build, in registry order. */
async function availableCommands(): Promise<Command[]> {
  const loaded: Command[] = [];
  for (const name of COMMAND_NAMES) {
    try {
      const command = await loadCommand(name);
      if (command) loaded.push(command);
    } catch (error) {
      // A listing should not fail because one command is broken; running that command reports why.
      if (process.env.CLIPSIFT_DEBUG === '1') process.stderr.write(`clipsift: cannot load ${name}: ${String(error)}\n`);
    }
  }
  return loaded;
}

/**
 * Imports ./<name>.js and returns its `command`, or undefined when that module does not exist.
 * Any other failure (a syntax error, a missing dependency of the module) is rethrown.
 */
async function loadCommand(name: string): Promise<Command | undefined> {
  const url = new URL(`./${name}.js`, import.meta.url);
  let module: { command?: Command };
  try {
    module = (await import(url.href)) as { command?: Command };
  } catch (error) {
    if (isThisModuleMissing(error, url)) return undefined;
    throw error;
  }
  const command = module.command;
  if (!command || typeof command.run !== 'function' || command.name !== name) {
    throw new Error(`src/cli/${name} does not export a command named '${name}'`);
  }
  return command;
}

/** Node and Deno both say ERR_MODULE_NOT_FOUND; only a miss of `url` itself counts, not of its imports. */
function isThisModuleMissing(error: unknown, url: URL): boolean {
  if (!(error instanceof Error)) return false;
  const code = (error as { code?: unknown }).code;
  const notFound = code === 'ERR_MODULE_NOT_FOUND' || /module not found|cannot find module/i.test(error.message);
  if (!notFound) return false;
  const path = decodeURIComponent(url.pathname);
  return error.message.includes(url.href) || error.message.includes(path);
}
