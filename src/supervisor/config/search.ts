// Where supervisord (and supervisorctl) look for their config when `-c` is not given
// (supervisor/options.py Options.__init__ searchpaths).

import { existsSync } from 'node:fs';
import path from 'node:path';

export interface SearchOptions {
  /** The program path (sys.argv[0]); its grandparent dir is searched first. Default process.argv[1]. */
  argv0?: string;
  /** Relative candidates resolve against this. Default process.cwd(). */
  cwd?: string;
}

/** The candidates in supervisord's order, as supervisord lists them in its "not found" message. */
export function defaultConfigSearchPaths(options: SearchOptions = {}): string[] {
  const argv0 = options.argv0 ?? process.argv[1] ?? process.argv0;
  // Python's os.path.dirname(os.path.dirname(argv0)): '' for a bare program name.
  const parent = (p: string): string => (p.includes('/') ? p.slice(0, p.lastIndexOf('/')).replace(/(.)\/+$/u, '$1') : '');
  const here = parent(parent(argv0));
  const join = (...parts: string[]): string => parts.filter((p) => p !== '').join('/');
  return [
    join(here, 'etc', 'supervisord.conf'),
    join(here, 'supervisord.conf'),
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
