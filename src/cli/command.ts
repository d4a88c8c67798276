/** The shape every command module exports as `command`; the dispatcher in main.ts relies on nothing else. */
export interface Command {
  /** The word after `clipsift` that selects this command. */
  name: string;
  /** One line for the top-level `clipsift --help` listing. */
  summary: string;
  /** The full `clipsift <name> --help` text: synopsis, then options. */
  usage: string;
  /**
   * Runs the command with the arguments after its name and resolves to the exit code.
   * Bad input is reported by throwing (an InputError or any Error → exit 1, a UsageError → exit 2);
   * the dispatcher turns that into one line on stderr.
   */
  run(argv: string[]): Promise<number>;
}
