/**
 * Reads a command's `--help` text back into its parts (usage lines, description, options with
 * their argument and description, the closing paragraphs), so that shell completions and the
 * man page are built from the very text the commands print and cannot drift from it.
 */

/** One option line of a help text. */
export interface HelpOption {
  /** Every flag the line names: `--output`, `-o`. */
  flags: string[];
  /** The argument placeholder (`FILE`, `N`), or undefined for a switch. */
  arg?: string;
  /** The description, continuation lines joined. */
  description: string;
}

/** A help text in parts. */
export interface ParsedHelp {
  /** The `Usage:` lines, without `Usage:`. */
  usage: string[];
  /** Paragraphs between the usage and `Options:`. */
  description: string[];
  options: HelpOption[];
  /** Paragraphs after the options (environment, exit codes, …). */
  after: string[];
}

const FLAG = /^--?[A-Za-z0-9][A-Za-z0-9-]*,?$/;
const PLACEHOLDER = /^[A-Z][A-Z0-9_:.,\[\]|…]*$/;

/** Split one option line into flags, argument and description. */
function optionLine(line: string): HelpOption | null {
  const m = /^( {1,6})(-.*)$/.exec(line);
  if (!m) return null;
  const text = m[2];
  const flags: string[] = [];
  let arg: string | undefined;
  let i = 0;
  while (i < text.length) {
    const start = i;
    while (i < text.length && text[i] !== " ") i++;
    const token = text.slice(start, i);
    let gap = 0;
    while (i < text.length && text[i] === " ") {
      i++;
      gap++;
    }
    if (FLAG.test(token)) flags.push(token.replace(/,$/, ""));
    else if (PLACEHOLDER.test(token) && flags.length > 0) arg ??= token.replace(/,$/, "");
    else {
      i = start;
      break;
    }
    if (gap >= 2 || i >= text.length) break;
  }
  if (flags.length === 0) return null;
  return { flags, arg, description: text.slice(i).trim() };
}

function paragraphs(lines: string[]): string[] {
  const out: string[] = [];
  let cur: string[] = [];
  for (const l of lines) {
    if (l.trim() === "") {
      if (cur.length) out.push(cur.join("\n"));
      cur = [];
    } else cur.push(l);
  }
  if (cur.length) out.push(cur.join("\n"));
  return out;
}

/** Parse a help text as the commands print it. */
export function parseHelp(help: string): ParsedHelp {
  const lines = help.replace(/\n+$/, "").split("\n");
  const usage: string[] = [];
  let i = 0;
  while (i < lines.length && lines[i].trim() === "") i++;
  if (i < lines.length && lines[i].startsWith("Usage:")) {
    usage.push(lines[i].slice("Usage:".length).trim());
    i++;
    while (i < lines.length && /^\s+\S/.test(lines[i])) usage.push(lines[i++].trim());
  }
  // Option sections: a heading ending in ":" ("Options:", "Thresholds (…):") followed by
  // option lines; several may follow one another, separated by blank lines.
  const isHeading = (k: number) =>
    k + 1 < lines.length && /^\S.*:\s*$/.test(lines[k]) && /^ {1,6}-/.test(lines[k + 1]);
  let optStart = -1;
  for (let k = i; k < lines.length; k++) {
    if (isHeading(k)) {
      optStart = k;
      break;
    }
  }
  const descEnd = optStart < 0 ? lines.length : optStart;
  const description = paragraphs(lines.slice(i, descEnd));
  const options: HelpOption[] = [];
  let j = optStart < 0 ? lines.length : optStart + 1;
  let last: HelpOption | null = null;
  for (; j < lines.length; j++) {
    const l = lines[j];
    if (l.trim() === "") {
      let k = j;
      while (k < lines.length && lines[k].trim() === "") k++;
      if (isHeading(k)) {
        j = k;
        last = null;
        continue;
      }
      break;
    }
    const o = optionLine(l);
    if (o && /^ {1,6}-/.test(l)) {
      options.push(o);
      last = o;
    } else if (last && /^\s+\S/.test(l)) {
      last.description = `${last.description} ${l.trim()}`.trim();
    }
  }
  const after = paragraphs(lines.slice(j));
  return { usage, description, options, after };
}

/** Every flag (`--long` and `-s`) of a help text's options. */
export function helpFlags(help: string): string[] {
  return parseHelp(help).options.flatMap((o) => o.flags);
}

/** One registered command with its help text, parsed. */
export interface CommandHelp {
  name: string;
  summary: string;
  help: string;
  parsed: ParsedHelp;
}

/** Every command of the registry (lib/cli/mod.ts) with its help, in registry order. */
export async function registryHelps(): Promise<{ main: string; commands: CommandHelp[] }> {
  // Imported when called: mod.ts loads this module's commands lazily, so no cycle at load time.
  const { COMMANDS, mainHelp } = await import("./mod.ts");
  const commands: CommandHelp[] = [];
  for (const [name, entry] of Object.entries(COMMANDS)) {
    const { command } = await entry.load();
    commands.push({
      name,
      summary: entry.summary,
      help: command.help,
      parsed: parseHelp(command.help),
    });
  }
  return { main: mainHelp(), commands };
}
