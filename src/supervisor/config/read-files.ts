// Reading the main file and its `[include]`s into one IniDocument (options.py ServerOptions.read_config,
// RawConfigParser.read), with supervisord's errors for files that are missing, unreadable or not UTF-8.

import { existsSync, statSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { decodeUtf8Strict, describeInvalidUtf8, findInvalidUtf8, findUnsafeText } from '../../shared/text.js';
import { ConfigError } from './errors.js';
import { expand, withExpansions } from './expand.js';
import { globSync } from './glob.js';
import { IniSyntaxError, type IniDocument } from './ini.js';
import { hereOf, plainError, type LoadState } from './load-state.js';
import { pyRepr } from './python.js';

export async function readMainFile(doc: IniDocument, file: string, givenFile: string): Promise<void> {
  if (!existsSync(file)) throw new ConfigError(`could not find config file ${givenFile}`);
  let bytes: Buffer;
  try {
    bytes = await readFile(file);
  } catch {
    throw new ConfigError(`could not read config file ${givenFile}`);
  }
  parseInto(doc, configText(bytes, file), file, givenFile);
}

/**
 * A config file's text. Bytes that are not UTF-8 are refused with the message supervisord prints for
 * them (Python's UnicodeDecodeError; it reads in 8 KiB chunks, so in a bigger file its position counts
 * from the chunk, ours from the start of the file), rather than read as U+FFFD.
 */
function configText(bytes: Uint8Array, file: string): string {
  const text = decodeUtf8Strict(bytes);
  if (text !== undefined) return text;
  const invalid = findInvalidUtf8(bytes);
  throw new ConfigError(invalid ? describeInvalidUtf8(bytes, invalid) : `'utf-8' codec can't decode ${file}`, { file });
}

function parseInto(doc: IniDocument, text: string, file: string, displayName: string): void {
  try {
    doc.read(text, file, displayName);
  } catch (error) {
    if (error instanceof IniSyntaxError) throw new ConfigError(error.message, { file: error.file, line: error.line });
    throw error;
  }
  refuseNulCharacters(doc, file);
}

/**
 * U+0000 in a section name, key or value (src/shared/text.ts). supervisord would pass it on to
 * execve or open() and fail later ("embedded null byte"); we refuse the file, naming the key, in the
 * style of its value errors.
 */
function refuseNulCharacters(doc: IniDocument, file: string): void {
  for (const section of doc.sectionNames()) {
    const where = ` in section ${pyRepr(section)} (file: ${pyRepr(file)})`;
    if (findUnsafeText(section) !== null) throw new ConfigError(`embedded null byte in section name${where}`, { file, section });
    for (const key of doc.keys(section)) {
      const value = doc.get(section, key);
      if (value === undefined || value.file !== file) continue;
      if (findUnsafeText(key) !== null || findUnsafeText(value.value) !== null) {
        const what = findUnsafeText(key) !== null ? `key ${pyRepr(key)}` : `value of ${pyRepr(key)}`;
        throw new ConfigError(`embedded null byte in ${what}${where}`, { file, section, key, line: value.line });
      }
    }
  }
}

/** os.path.join(base, pattern) without normalising. */
function joinPattern(base: string, pattern: string): string {
  if (pattern.startsWith('/')) return pattern;
  return base.endsWith('/') ? base + pattern : `${base}/${pattern}`;
}

/**
 * `[include] files=`: globs relative to the main file's directory, each match read in sorted
 * order. Like supervisord, only the main file's `[include]` is followed.
 */
export async function readIncludes(state: LoadState): Promise<string[]> {
  const { doc } = state;
  if (!doc.has('include')) return [];
  const files = doc.get('include', 'files');
  if (files === undefined) throw new ConfigError('.ini file has [include] section, but no files setting');
  let patterns: string[];
  try {
    const names = withExpansions(state.environ, { here: hereOf(state, files), host_node_name: state.hostname });
    patterns = expand(files.value, names, 'include.files').split(/\s+/u).filter((p) => p !== '');
  } catch (error) {
    return plainError(error, 'include');
  }
  const included: string[] = [];
  for (const pattern of patterns) {
    const joined = joinPattern(state.here, pattern);
    const matches = globSync(joined).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
    if (matches.length === 0) {
      state.warnings.push(`No file matches via include "${joined}"`);
      continue;
    }
    for (const match of matches) {
      state.infos.push(`Included extra file "${match}" during parsing`);
      let bytes: Buffer;
      try {
        if (statSync(match).isDirectory()) continue;
        bytes = await readFile(match);
      } catch {
        // RawConfigParser.read skips files it cannot open.
        continue;
      }
      const before = new Set(doc.sectionNames());
      // A file that opens but does not decode is not skipped: supervisord stops on it.
      parseInto(doc, configText(bytes, path.resolve(match)), path.resolve(match), match);
      for (const name of doc.sectionNames()) if (!before.has(name)) state.sectionFile.set(name, match);
      included.push(path.resolve(match));
    }
  }
  return included;
}
