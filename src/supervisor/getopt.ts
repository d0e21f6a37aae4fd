// The command-line parser of both programs: Python's getopt.getopt (not gnu_getopt), which
// supervisord's and supervisorctl's Options.realize call, with its exact rules and messages:
//   - options end at the first argument that does not start with `-`, at `-` alone, and after `--`;
//   - short options cluster (`-ns`), and one that takes a value takes the rest of its word
//     (`-cFILE`) or the next word (`-c FILE`);
//   - a long option is `--name`, `--name=value` or `--name value`, and any unique prefix of a
//     name is that name (`--vers`, `--config=FILE`); an exact name wins over longer ones.
// Then Options.realize's own rules: handlers run in command-line order, and a named option given
// twice is `conflicting command line option '-c'`. Dependency-free: supervisorctl's bundle has it.
import { pyRepr } from './config/python.js';

/** A mistake on the command line: the program prints `Error: <message>` and `For help, use <prog> -h`, exit 2. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

/** The two lines supervisord and supervisorctl print for a UsageError (Options.usage). */
export function usageErrorText(message: string, progname: string): string {
  return `Error: ${message}\nFor help, use ${progname} -h\n`;
}

export interface GetoptResult {
  /** [option as getopt names it (`-c`, `--configuration`), value ('' for a flag)], in command-line order. */
  options: Array<[string, string]>;
  /** What follows the options. */
  args: string[];
}

/**
 * getopt.getopt(args, shortopts, longopts): `shortopts` like `"hc:"` (a colon after a letter that
 * takes a value), `longopts` like `["help", "configuration="]`. Throws UsageError with getopt's message.
 */
export function getopt(args: readonly string[], shortopts: string, longopts: readonly string[]): GetoptResult {
  const options: Array<[string, string]> = [];
  let rest = [...args];
  while (rest.length > 0) {
    const first = rest[0] ?? '';
    if (!first.startsWith('-') || first === '-') break;
    rest = rest.slice(1);
    if (first === '--') break;
    rest = first.startsWith('--') ? doLongs(options, first.slice(2), longopts, rest) : doShorts(options, first.slice(1), shortopts, rest);
  }
  return { options, args: rest };
}

function doLongs(options: Array<[string, string]>, word: string, longopts: readonly string[], args: string[]): string[] {
  const equals = word.indexOf('=');
  const typed = equals === -1 ? word : word.slice(0, equals);
  let value: string | undefined = equals === -1 ? undefined : word.slice(equals + 1);
  const { takesValue, name } = longHasArgs(typed, longopts);
  let rest = args;
  if (takesValue) {
    if (value === undefined) {
      const next = rest[0];
      if (next === undefined) throw new UsageError(`option --${name} requires argument`);
      value = next;
      rest = rest.slice(1);
    }
  } else if (value !== undefined) {
    throw new UsageError(`option --${name} must not have an argument`);
  }
  options.push([`--${name}`, value ?? '']);
  return rest;
}

function longHasArgs(typed: string, longopts: readonly string[]): { takesValue: boolean; name: string } {
  const possibilities = longopts.filter((candidate) => candidate.startsWith(typed));
  if (possibilities.length === 0) throw new UsageError(`option --${typed} not recognized`);
  if (possibilities.includes(typed)) return { takesValue: false, name: typed };
  if (possibilities.includes(`${typed}=`)) return { takesValue: true, name: typed };
  const [unique] = possibilities;
  if (unique === undefined || possibilities.length > 1) throw new UsageError(`option --${typed} not a unique prefix`);
  return unique.endsWith('=') ? { takesValue: true, name: unique.slice(0, -1) } : { takesValue: false, name: unique };
}

function doShorts(options: Array<[string, string]>, cluster: string, shortopts: string, args: string[]): string[] {
  let remaining = cluster;
  let rest = args;
  while (remaining !== '') {
    const letter = remaining.charAt(0);
    remaining = remaining.slice(1);
    let value = '';
    if (shortHasArg(letter, shortopts)) {
      if (remaining === '') {
        const next = rest[0];
        if (next === undefined) throw new UsageError(`option -${letter} requires argument`);
        remaining = next;
        rest = rest.slice(1);
      }
      value = remaining;
      remaining = '';
    }
    options.push([`-${letter}`, value]);
  }
  return rest;
}

function shortHasArg(letter: string, shortopts: string): boolean {
  for (let i = 0; i < shortopts.length; i++) {
    if (letter === shortopts[i] && letter !== ':') return shortopts.startsWith(':', i + 1);
  }
  throw new UsageError(`option -${letter} not recognized`);
}

// ---- Options.add / Options.realize ----

/** One command-line option of a program, as supervisor's Options.add declares it. */
export interface OptionDefinition<Name extends string> {
  /** What the program calls it; options of one name conflict when given twice. */
  name: Name;
  /** One letter, without `-`. */
  short?: string;
  /** Without `--` and `=`. */
  long?: string;
  takesValue: boolean;
  /** Runs for each occurrence (help, version): not a value, so never a conflict. */
  action?: boolean;
}

export interface RealizedOption<Name extends string> {
  name: Name;
  /** As getopt names it: `-c`, `--configuration`. */
  option: string;
  /** '' for a flag. */
  value: string;
}

/** getopt over the definitions; each option comes back with its definition's name, in order. */
export function parseOptions<Name extends string>(
  args: readonly string[],
  definitions: readonly OptionDefinition<Name>[],
): { options: Array<RealizedOption<Name>>; args: string[] } {
  let shortopts = '';
  const longopts: string[] = [];
  const byOption = new Map<string, OptionDefinition<Name>>();
  for (const definition of definitions) {
    if (definition.short !== undefined) {
      shortopts += definition.short + (definition.takesValue ? ':' : '');
      byOption.set(`-${definition.short}`, definition);
    }
    if (definition.long !== undefined) {
      longopts.push(definition.long + (definition.takesValue ? '=' : ''));
      byOption.set(`--${definition.long}`, definition);
    }
  }
  const parsed = getopt(args, shortopts, longopts);
  const options = parsed.options.map(([option, value]): RealizedOption<Name> => {
    const definition = byOption.get(option);
    // getopt only returns options built from the definitions.
    if (definition === undefined) throw new UsageError(`option ${option} not recognized`);
    return { name: definition.name, option, value };
  });
  return { options, args: parsed.args };
}

/**
 * Options.realize's handling of one value: the converter runs first (its ValueError is
 * `invalid value for -e 'bogus': bad logging level name 'bogus'`), then a second value for the same
 * name is `conflicting command line option '-e'`. Returns the converted value.
 */
export function realizeValue<T>(seen: Set<string>, option: RealizedOption<string>, convert: (value: string) => T): T {
  let converted: T;
  try {
    converted = convert(option.value);
  } catch (error) {
    if (error instanceof UsageError) throw error;
    const message = error instanceof Error ? error.message : String(error);
    throw new UsageError(`invalid value for ${option.option} ${pyRepr(option.value)}: ${message}`);
  }
  if (seen.has(option.name)) throw new UsageError(`conflicting command line option ${pyRepr(option.option)}`);
  seen.add(option.name);
  return converted;
}

/** Python's `str(list_of_str)`, as in `positional arguments are not supported: ['a', 'b']`. */
export function pyListRepr(items: readonly string[]): string {
  return `[${items.map((item) => pyRepr(item)).join(', ')}]`;
}
