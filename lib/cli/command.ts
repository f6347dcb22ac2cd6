/** The shape every subcommand module exports as `command`. */

/** A subcommand: its help text and its entry point, which returns the exit code. */
export interface Command {
  name: string;
  /** One line for `rtr --help`. */
  summary: string;
  /** Full help text for `rtr help NAME` and `rtr NAME --help`. */
  help: string;
  run(args: string[]): Promise<number>;
}
