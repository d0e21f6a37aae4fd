// The ini dialect supervisord reads: Python's RawConfigParser with
// inline_comment_prefixes=(';', '#') and strict=False (supervisor/options.py UnhosedConfigParser).
// The rules below follow CPython 3.11 configparser._read so that odd files parse the same way.

import { pyRepr } from './python.js';

/** One `key = value` as read, with where it came from (for `%(here)s` and error messages). */
export interface IniValue {
  value: string;
  /** Absolute path of the file that holds the key line. */
  file: string;
  /** 1-based line number of the key line. */
  line: number;
}

export interface IniSection {
  name: string;
  /** The file where the section first appeared: supervisord names that file in its errors. */
  file: string;
  line: number;
  values: Map<string, IniValue>;
}

/** A syntax error, worded as configparser words it (`Source contains parsing errors: ...`). */
export class IniSyntaxError extends Error {
  constructor(
    message: string,
    readonly file: string,
    readonly line: number,
  ) {
    super(message);
    this.name = 'IniSyntaxError';
  }
}

const COMMENT_PREFIXES = ['#', ';'] as const;
const INLINE_COMMENT_PREFIXES = [';', '#'] as const;
const DEFAULT_SECTION = 'DEFAULT';

// Whitespace below is ECMAScript's (WhiteSpace and LineTerminator): what `\s` matches and what trim() removes.
// The reader uses the string methods, not regular expressions: V8 compiles each regular expression on its first
// uses, and supervisorctl reads its file once per run (a first read of bench:ctl's file 0.71 → 0.51 ms).

/** Python's str.isspace for the characters that can occur in a config line. */
function isSpace(ch: string | undefined): boolean {
  return ch !== undefined && ch !== '' && ch.trim() === '';
}

/**
 * configparser's inline comment search. It looks at the first occurrence of every prefix at once,
 * stops at the first round where any of them follows whitespace, and takes the smallest such
 * position; so `x;y ;z #w` ends at `#`, not at ` ;`. Returns the cut index or null.
 */
function inlineCommentStart(line: string): number | null {
  let candidates = new Map<string, number>(INLINE_COMMENT_PREFIXES.map((p) => [p, -1]));
  let start: number | null = null;
  while (start === null && candidates.size > 0) {
    const next = new Map<string, number>();
    for (const [prefix, from] of candidates) {
      const index = line.indexOf(prefix, from + 1);
      if (index === -1) continue;
      next.set(prefix, index);
      if (index === 0 || isSpace(line[index - 1])) start = start === null ? index : Math.min(start, index);
    }
    candidates = next;
  }
  return start;
}

/** Python's str.strip() whitespace set is wider than JS trim only in exotic code points; trim is close enough. */
function strip(text: string): string {
  return text.trim();
}

/**
 * configparser's option line `(?P<option>.*?)\s*(?P<vi>[=:])\s*(?P<value>.*)$`: the key ends at the first `=` or
 * `:`, without the whitespace before it; null when there is no separator.
 */
function optionLine(value: string): { key: string; value: string } | null {
  const equals = value.indexOf('=');
  const colon = value.indexOf(':');
  const separator = equals === -1 ? colon : colon === -1 ? equals : Math.min(equals, colon);
  if (separator === -1) return null;
  return { key: value.slice(0, separator).trimEnd(), value: value.slice(separator + 1).trimStart() };
}

/** configparser's section header `\[(?P<header>.+)\]`: greedy, so the name ends at the last `]`. */
function sectionHeader(value: string): string | null {
  if (!value.startsWith('[')) return null;
  const close = value.lastIndexOf(']');
  return close >= 2 ? value.slice(1, close) : null;
}

/**
 * Sections and keys of one or more files, merged as RawConfigParser merges them:
 * a repeated section continues the earlier one and a repeated key replaces the earlier value.
 */
export class IniDocument {
  readonly sections = new Map<string, IniSection>();
  /** `[DEFAULT]` keys: configparser falls back to them for every section. */
  readonly defaults = new Map<string, IniValue>();

  /** The sections in the order they first appeared (configparser's `sections()`). */
  sectionNames(): string[] {
    return [...this.sections.keys()];
  }

  has(section: string): boolean {
    return this.sections.has(section);
  }

  /** A key of a section, falling back to `[DEFAULT]`; undefined when neither has it. */
  get(section: string, key: string): IniValue | undefined {
    return this.sections.get(section)?.values.get(key) ?? this.defaults.get(key);
  }

  /** Every key of a section including inherited `[DEFAULT]` keys. */
  keys(section: string): string[] {
    const own = this.sections.get(section)?.values.keys() ?? [];
    return [...new Set([...own, ...this.defaults.keys()])];
  }

  /**
   * Parse `text` (the content of `file`, an absolute path) into this document.
   * `displayName` is how the file is named in syntax errors (the path as the user gave it).
   */
  read(text: string, file: string, displayName: string = file): void {
    // Python reads text files with universal newlines.
    const universal = text.includes('\r') ? text.replace(/\r\n?/g, '\n') : text;
    const lines = universal.split('\n');
    if (lines.length > 0 && lines[lines.length - 1] === '') lines.pop();
    const hadFinalNewline = universal.endsWith('\n');

    let current: { values: Map<string, IniValue> } | null = null;
    // Parts of the value being read: the key line's value, then continuation lines.
    let pending: { target: Map<string, IniValue>; key: string; parts: string[]; line: number } | null = null;
    let indentLevel = 0;
    const errors: { line: number; raw: string }[] = [];

    const flush = (): void => {
      if (pending === null) return;
      pending.target.set(pending.key, {
        value: pending.parts.join('\n').trimEnd(),
        file,
        line: pending.line,
      });
    };

    lines.forEach((rawLine, index) => {
      const lineNumber = index + 1;
      const isLast = index === lines.length - 1;
      const rawWithNewline = isLast && !hadFinalNewline ? rawLine : `${rawLine}\n`;
      let commentStart = inlineCommentStart(rawLine);
      if (COMMENT_PREFIXES.some((p) => strip(rawLine).startsWith(p))) commentStart = 0;
      const value = strip(commentStart === null ? rawLine : rawLine.slice(0, commentStart));

      if (value === '') {
        // A blank line is kept inside a value (it may be followed by more continuation lines);
        // a comment line is skipped without ending the value.
        if (commentStart === null && current !== null && pending !== null) pending.parts.push('');
        return;
      }
      // The first non-whitespace character's index (value is not empty, so there is one).
      const currentIndent = rawLine.length - rawLine.trimStart().length;
      if (current !== null && pending !== null && currentIndent > indentLevel) {
        pending.parts.push(value);
        return;
      }
      indentLevel = currentIndent;
      const name = sectionHeader(value);
      if (name !== null) {
        flush();
        pending = null;
        if (name === DEFAULT_SECTION) {
          current = { values: this.defaults };
        } else {
          let section = this.sections.get(name);
          if (section === undefined) {
            section = { name, file, line: lineNumber, values: new Map() };
            this.sections.set(name, section);
          }
          current = section;
        }
        return;
      }
      if (current === null) {
        throw new IniSyntaxError(
          `File contains no section headers.\nfile: ${pyRepr(displayName)}, line: ${lineNumber}\n${pyRepr(rawWithNewline)}`,
          file,
          lineNumber,
        );
      }
      const option = optionLine(value);
      if (option === null || option.key === '') {
        // configparser keeps the current key after a bad line, so indented lines below it
        // still continue that key rather than count as more errors.
        errors.push({ line: lineNumber, raw: rawWithNewline });
        return;
      }
      flush();
      pending = {
        target: current.values,
        key: option.key.toLowerCase(),
        parts: [strip(option.value)],
        line: lineNumber,
      };
    });
    flush();

    if (errors.length > 0) {
      const first = errors[0];
      const listed = errors.map((e) => `\n\t[line ${String(e.line).padStart(2)}]: ${pyRepr(e.raw)}`).join('');
      throw new IniSyntaxError(`Source contains parsing errors: ${pyRepr(displayName)}${listed}`, file, first?.line ?? 0);
    }
  }
}
