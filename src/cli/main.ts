/**
 * The clipsift command line: finds the command named by the first argument and runs it.
 *
 * Commands live one per module (src/cli/<name>.ts), each exporting `command` (see command.ts), listed
 * in the static COMMANDS map below. They are imported lazily, so `clipsift score` does not load the
 * web demo's server; every import names its module literally, so bundlers and readers see the whole
 * command graph. A command whose module fails to load is an error, in the listing as when run.
 * Everything here uses node: APIs that Deno 2 also provides; root score.ts runs this same file.
 */
import process from 'node:process';
import { exitQuietlyOnClosedPipe } from './closed-pipe.js';
import { addressSpaceAdvice } from './address-space.js';
import type { Command } from './command.js';
import { deniedAccess, envVariable, permissionAdvice } from './deno-permissions.js';
import { refuseUnreadableUrls } from './local-paths.js';
import { clipsiftVersion } from '../pipeline/version.js';
import { closestWord } from './words.js';

/** A command module: what src/cli/<name>.ts exports. */
type CommandModule = { command: Command };

/**
 * The single registry: every command and the import of its module, in the order `clipsift --help`
 * lists them. A new command is one line here.
 */
const COMMANDS: Record<string, () => Promise<CommandModule>> = {
  score: () => import('./score.js'),
  worker: () => import('./worker.js'),
  status: () => import('./status.js'),
  select: () => import('./select.js'),
  run: () => import('./run.js'),
  subset: () => import('./subset.js'),
  inspect: () => import('./inspect.js'),
  demo: () => import('./demo.js'),
  'serve-demo': () => import('./serve-demo.js'),
  'serve-edge': () => import('./serve-edge.js'),
};

const TOP_USAGE = `usage: clipsift <command> [options]

Score and select image-text pretraining data for CLIP from its embeddings
(CLIPScore, negCLIPLoss, NormSim).`;

/**
 * Runs the clipsift command line with `argv` (the arguments after the program name).
 * Resolves to the process exit code: 0 on success, 1 on bad input or a failure, 2 on a usage error.
 * Errors are reported as one line `clipsift <command>: <reason>` on stderr; set CLIPSIFT_DEBUG=1 for stacks.
 */
export async function main(argv: string[]): Promise<number> {
  exitQuietlyOnClosedPipe();
  const [first, ...rest] = argv;
  if (first === undefined || first === '--help' || first === '-h' || first === 'help') {
    // `clipsift help score` is the same as `clipsift score --help`.
    if (first === 'help' && rest[0] !== undefined) return main([rest[0], '--help']);
    let help: string;
    try {
      help = await topLevelHelp();
    } catch (error) {
      return report('help', error, []);
    }
    // No arguments at all is a usage error: the listing goes to stderr.
    (first === undefined ? process.stderr : process.stdout).write(`${help}\n`);
    return first === undefined ? 2 : 0;
  }
  if (first === '--version' || first === '-v') {
    try {
      process.stdout.write(`${clipsiftVersion()}\n`);
    } catch (error) {
      return report(undefined, error, [first]);
    }
    return 0;
  }

  let command: Command | undefined;
  try {
    command = Object.hasOwn(COMMANDS, first) ? await loadCommand(first) : undefined;
  } catch (error) {
    return report(first, error, rest);
  }
  if (command === undefined) {
    const available = Object.keys(COMMANDS);
    const guess = closestWord(first, available);
    process.stderr.write(
      `clipsift: unknown command '${first}'${guess ? `; did you mean '${guess}'?` : ''} (commands: ${available.join(', ')}; see clipsift --help)
`,
    );
    return 2;
  }
  if (wantsHelp(rest)) {
    process.stdout.write(`${command.usage.trimEnd()}\n`);
    return 0;
  }
  try {
    refuseUnreadableUrls(rest);
    return await command.run(rest);
  } catch (error) {
    return report(command.name, error, rest);
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

/** Writes the one-line report of a failed command (none: the program itself) and picks its exit code. */
function report(commandName: string | undefined, error: unknown, argv: string[]): number {
  const denied = deniedAccess(error);
  const prefix = commandName === undefined ? 'clipsift' : `clipsift ${commandName}`;
  if (denied) {
    process.stderr.write(`${prefix}: ${permissionAdvice(denied, commandName, argv)}\n`);
    return 1;
  }
  const memory = addressSpaceAdvice(error);
  if (memory) {
    process.stderr.write(`${prefix}: ${memory}\n`);
    return 1;
  }
  const isUsage = error instanceof Error && error.name === 'UsageError';
  // The library's own errors start 'clipsift: '; this line already starts 'clipsift <command>: '.
  const message = (error instanceof Error ? error.message : String(error)).replace(/^clipsift:\s*/, '');
  // One line, whatever the thrower put in the message: scripts grep these and terminals wrap them.
  const oneLine = message.replace(/\s*\n\s*/g, ' ').trim() || (error instanceof Error ? error.name : 'failed');
  const hint = isUsage ? ` (see clipsift ${commandName} --help)` : '';
  process.stderr.write(`${prefix}: ${oneLine}${hint}\n`);
  if (envVariable('CLIPSIFT_DEBUG') === '1' && error instanceof Error && error.stack) {
    process.stderr.write(`${error.stack}\n`);
  }
  return isUsage ? 2 : 1;
}

async function topLevelHelp(): Promise<string> {
  const commands = await allCommands();
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

/** Every command, in registry order. @throws when a command's module cannot be loaded */
async function allCommands(): Promise<Command[]> {
  const loaded: Command[] = [];
  for (const name of Object.keys(COMMANDS)) loaded.push(await loadCommand(name));
  return loaded;
}

/**
 * Imports the module of command `name` and returns its `command`.
 * @throws when the module cannot be imported (the import's own error) or exports no command of that name
 */
async function loadCommand(name: string): Promise<Command> {
  let module: CommandModule;
  try {
    module = await COMMANDS[name]!();
  } catch (error) {
    throw new Error(`cannot load the ${name} command: ${error instanceof Error ? error.message : String(error)}`, {
      cause: error,
    });
  }
  const command = module.command;
  if (!command || typeof command.run !== 'function' || command.name !== name) {
    throw new Error(`src/cli/${name} does not export a command named '${name}'`);
  }
  return command;
}
