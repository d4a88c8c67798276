/**
 * Deno runs score.ts in a sandbox: a read, write, network or environment access not granted on its
 * command line fails with "Requires <kind> access to "<what>", run again with the --allow-<kind> flag"
 * (a NotCapable error, or a TypeError from import()). This module recognises those errors and turns them
 * into one line that names the permission and gives the narrow command line that grants what the
 * command needs, instead of letting them pass for a missing file or command.
 */
import { dirname, join, relative, resolve } from 'node:path';
import process from 'node:process';
import { fileURLToPath } from 'node:url';

/** What Deno refused. */
export interface DeniedAccess {
  /** 'read', 'write', 'net', 'env', 'sys', 'run' or 'ffi'. */
  kind: string;
  /** The path, host or variable Deno names. */
  what: string;
}

const REQUIRES = /Requires (\w+) access to "?([^"]*?)"?,? run again with the --allow-\w+ flag/;

/** The access Deno refused, when `error` is Deno's permission error; undefined for anything else. */
export function deniedAccess(error: unknown): DeniedAccess | undefined {
  if (!(error instanceof Error)) return undefined;
  const match = REQUIRES.exec(error.message);
  return match ? { kind: match[1]!, what: match[2]! } : undefined;
}

/** The package root, above src/cli/ or dist/lib/cli/ (package.json and dist/wasm live there). */
function packageRoot(): string {
  const here = dirname(fileURLToPath(import.meta.url));
  return resolve(here, here.endsWith(join('dist', 'lib', 'cli')) ? '../../..' : '../..');
}

/** The value of `--name <v>` or `--name=<v>` in argv. */
function optionValue(argv: string[], name: string): string | undefined {
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === `--${name}`) return argv[i + 1];
    if (argv[i]!.startsWith(`--${name}=`)) return argv[i]!.slice(name.length + 3);
  }
  return undefined;
}

/**
 * The narrowest Deno flags `clipsift <command> <argv>` needs: reading the package (its wasm and
 * package.json) and the inputs, writing where --out points (a directory for score; beside the file for
 * select and subset, whose writes go through a temporary in the same directory), and the network for
 * serve-demo's listener.
 */
export function denoFlags(command: string | undefined, argv: string[]): string[] {
  const root = packageRoot();
  const readsInputs = command === 'score' || command === 'select' || command === 'subset' || command === 'inspect';
  const flags = [readsInputs ? '--allow-read' : `--allow-read=${root}`];
  const out = optionValue(argv, 'out');
  if (out !== undefined) flags.push(`--allow-write=${command === 'score' ? out : dirname(out)}`);
  if (command === 'serve-demo') flags.push(`--allow-net=${optionValue(argv, 'host') ?? '127.0.0.1'}`);
  return flags;
}

/** One line: what Deno refused, and the command line that grants what this command needs. */
export function permissionAdvice(denied: DeniedAccess, command: string | undefined, argv: string[]): string {
  const flags = denoFlags(command, argv);
  const granted = flags.some((flag) => flag.startsWith(`--allow-${denied.kind}`));
  if (!granted) flags.push(`--allow-${denied.kind}${denied.kind === 'env' ? `=${denied.what}` : ''}`);
  const line = ['deno', 'run', ...flags, scriptPath(), ...(command ? [command] : []), ...argv].map(quote).join(' ');
  return `Deno denied ${denied.kind} access to "${denied.what}"; grant it: ${line} (or deno run -A)`;
}

/** The script Deno is running (score.ts, as the user named it relative to here), for a command line to copy. */
function scriptPath(): string {
  const main = process.argv[1];
  if (main === undefined || !/\.[cm]?[jt]s$/.test(main)) return 'score.ts';
  const path = main.startsWith('file:') ? fileURLToPath(main) : main;
  const here = relative(process.cwd(), path);
  return here.startsWith('..') || here === '' ? path : here;
}

function quote(arg: string): string {
  return /^[\w@%+=:,./-]+$/.test(arg) ? arg : `'${arg.replace(/'/g, `'\\''`)}'`;
}

/** An environment variable, or undefined where Deno was not allowed to read it. */
export function envVariable(name: string): string | undefined {
  try {
    return process.env[name];
  } catch (error) {
    if (deniedAccess(error)) return undefined;
    throw error;
  }
}
