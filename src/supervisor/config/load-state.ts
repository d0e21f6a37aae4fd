// The state loadConfig's steps share while reading one supervisord.conf, and the helpers they all use.

import path from 'node:path';
import { ConfigError } from './errors.js';
import type { Expansions } from './expand.js';
import type { IniDocument, IniValue } from './ini.js';
import { PyValueError, type FormatValue } from './python.js';
import { SectionValueError, type RawSection, type SectionEnv } from './sections.js';

/** Everything loadConfig's steps share while reading one config. */
export interface LoadState {
  doc: IniDocument;
  /** The main file as given (supervisord names it so in its messages). */
  givenFile: string;
  mainFile: string;
  here: string;
  hostname: string;
  ctx: SectionEnv;
  /** supervisord's environ_expansions: ENV_ of its environment, then of `[supervisord] environment`. */
  environ: Map<string, FormatValue>;
  /** The file a section first appeared in, for sections that came from `[include]`. */
  sectionFile: Map<string, string>;
  warnings: string[];
  infos: string[];
  /** From `[supervisord]`, once read: what program sections build on. */
  childlogdir: string;
  identifier: string;
  supervisordEnvironment: Record<string, string>;
}

/**
 * An expansions function that builds its map once per file (the only thing that varies
 * between the values of one section is `here`): environments have dozens of ENV_ names.
 */
export function perFile(build: (here: string) => Expansions, state: LoadState): (raw: IniValue | undefined) => Expansions {
  const cache = new Map<string, Expansions>();
  return (raw) => {
    const here = hereOf(state, raw);
    let names = cache.get(here);
    if (names === undefined) {
      names = build(here);
      cache.set(here, names);
    }
    return names;
  };
}

export function hereOf(state: LoadState, raw: IniValue | undefined): string {
  return raw === undefined ? state.here : path.dirname(raw.file);
}

export function rawSection(doc: IniDocument, section: string): RawSection {
  const out: RawSection = {};
  for (const key of doc.keys(section)) out[key] = doc.get(section, key);
  return out;
}

/** A bad value in a section without supervisord's " in section" suffix (supervisord, server sections). */
export function plainError(error: unknown, section: string): never {
  if (error instanceof SectionValueError) {
    throw new ConfigError(error.message, {
      section,
      key: error.key,
      file: error.raw?.file,
      line: error.raw?.line,
    });
  }
  if (error instanceof PyValueError) throw new ConfigError(error.message, { section });
  throw error;
}

export function byPriorityThenName<T extends { priority: number; name: string }>(a: T, b: T): number {
  if (a.priority !== b.priority) return a.priority - b.priority;
  return a.name < b.name ? -1 : a.name > b.name ? 1 : 0;
}
