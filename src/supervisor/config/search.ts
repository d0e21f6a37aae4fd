// Where supervisord and supervisorctl look for their config when `-c` is not given: both use the
// one list of supervisor/options.py (Options.__init__ searchpaths, shared by ServerOptions and
// ClientOptions). This file is the single definition for both programs. supervisorctl imports it
// directly (not through index.ts), so it must stay free of zod and of the loader: only node:fs/path.

import { existsSync } from 'node:fs';
import path from 'node:path';

export interface SearchOptions {
  /** The program path (sys.argv[0]); its grandparent dir is searched first. Default process.argv[1]. */
  argv0?: string;
  /** Relative candidates resolve against this. Default process.cwd(). */
  cwd?: string;
}

/** Python's posixpath.dirname: '' for a bare name, '/' (or '//') kept for the root. */
function pythonDirname(p: string): string {
  const head = p.slice(0, p.lastIndexOf('/') + 1);
  return /^\/*$/u.test(head) ? head : head.replace(/\/+$/u, '');
}

/** Python's posixpath.join: no normalisation, an absolute part restarts the path. */
function pythonJoin(base: string, ...parts: string[]): string {
  let joined = base;
  for (const part of parts) {
    if (part.startsWith('/')) joined = part;
    else if (joined === '' || joined.endsWith('/')) joined += part;
    else joined += `/${part}`;
  }
  return joined;
}

/**
 * The candidates in supervisord's order, as supervisord lists them in its "not found" message;
 * relative ones are relative to the working directory, as in Python.
 */
export function defaultConfigSearchPaths(options: SearchOptions = {}): string[] {
  const argv0 = options.argv0 ?? process.argv[1] ?? process.argv0;
  const here = pythonDirname(pythonDirname(argv0));
  return [
    pythonJoin(here, 'etc', 'supervisord.conf'),
    pythonJoin(here, 'supervisord.conf'),
    'supervisord.conf',
    'etc/supervisord.conf',
    '/etc/supervisord.conf',
    '/etc/supervisor/supervisord.conf',
  ];
}

/** The first existing candidate, made absolute; null when there is none. */
export function findDefaultConfigFile(options: SearchOptions = {}): string | null {
  const cwd = options.cwd ?? process.cwd();
  for (const candidate of defaultConfigSearchPaths(options)) {
    const absolute = path.resolve(cwd, candidate);
    if (existsSync(absolute)) return absolute;
  }
  return null;
}
