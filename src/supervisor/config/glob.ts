// Python glob.glob(pattern) (non-recursive) for `[include] files`: `*`, `?` and `[...]` per path
// segment, hidden names only matched by a segment that starts with `.`, literal segments must exist.
// Node 20 has no fs.glob, and this is small enough not to need a dependency.

import { readdirSync, statSync } from 'node:fs';

const MAGIC = /[*?[]/u;

/** fnmatch.translate for one segment: a RegExp matching the whole name. */
function segmentPattern(segment: string): RegExp {
  let source = '';
  for (let i = 0; i < segment.length; i += 1) {
    const ch = segment[i] ?? '';
    if (ch === '*') source += '.*';
    else if (ch === '?') source += '.';
    else if (ch === '[') {
      let j = i + 1;
      if (segment[j] === '!') j += 1;
      if (segment[j] === ']') j += 1;
      while (j < segment.length && segment[j] !== ']') j += 1;
      if (j >= segment.length) source += '\\[';
      else {
        let body = segment.slice(i + 1, j).replace(/\\/gu, '\\\\');
        if (body.startsWith('!')) body = `^${body.slice(1)}`;
        else if (body.startsWith('^')) body = `\\${body}`;
        source += `[${body}]`;
        i = j;
      }
    } else source += ch.replace(/[.*+?^${}()|[\]\\/]/gu, '\\$&');
  }
  return new RegExp(`^${source}$`, 'su');
}

function exists(p: string): boolean {
  try {
    statSync(p);
    return true;
  } catch {
    return false;
  }
}

function isDirectory(p: string): boolean {
  try {
    return statSync(p).isDirectory();
  } catch {
    return false;
  }
}

/** os.path.join without normalising, so results read like Python's. */
function joinName(base: string, name: string): string {
  if (base === '') return name;
  return base.endsWith('/') ? base + name : `${base}/${name}`;
}

/** The paths matching an absolute `pattern`, unsorted (callers sort, as supervisord does). */
export function globSync(pattern: string): string[] {
  if (!MAGIC.test(pattern)) return exists(pattern) ? [pattern] : [];
  const absolute = pattern.startsWith('/');
  const segments = pattern.split('/').filter((s, i) => s !== '' || i === 0);
  let matches = [absolute ? '/' : ''];
  for (const [index, segment] of segments.entries()) {
    if (index === 0 && absolute) continue;
    const last = index === segments.length - 1;
    const next: string[] = [];
    for (const base of matches) {
      if (!MAGIC.test(segment)) {
        const candidate = joinName(base, segment);
        if (last ? exists(candidate) : isDirectory(candidate)) next.push(candidate);
        continue;
      }
      let names: string[];
      try {
        names = readdirSync(base === '' ? '.' : base);
      } catch {
        continue;
      }
      const re = segmentPattern(segment);
      for (const name of names) {
        if (name.startsWith('.') && !segment.startsWith('.')) continue;
        if (!re.test(name)) continue;
        const candidate = joinName(base, name);
        if (last || isDirectory(candidate)) next.push(candidate);
      }
    }
    matches = next;
  }
  return matches;
}
