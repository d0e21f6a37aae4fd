// The processes below one of ours, read from the host's /proc: what a test must find (or kill) that its
// child started, such as a supervisord's programs.
import { readdirSync, readFileSync } from 'node:fs';

/** Host pids of `pid`'s descendants, with their command lines (from /proc). */
export function descendants(pid: number): { pid: number; cmdline: string }[] {
  const children = new Map<number, number[]>();
  const cmdlines = new Map<number, string>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      children.set(ppid, [...(children.get(ppid) ?? []), Number(entry)]);
      cmdlines.set(Number(entry), readFileSync(`/proc/${entry}/cmdline`, 'utf8').replace(/\0/g, ' ').trim());
    } catch {
      // The process ended while we looked.
    }
  }
  const found: { pid: number; cmdline: string }[] = [];
  const queue = [...(children.get(pid) ?? [])];
  while (queue.length > 0) {
    const next = queue.shift()!;
    found.push({ pid: next, cmdline: cmdlines.get(next) ?? '' });
    queue.push(...(children.get(next) ?? []));
  }
  return found;
}

/** SIGKILL `pid` if it is still there. */
export function killQuietly(pid: number): void {
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    // already gone
  }
}

/**
 * The pid a file holds once it is whole (`echo $! > file`, a pidfile): undefined while it is missing, empty or
 * still without its line's end. A shell creates the file before it writes the number, so a reader polling it can
 * see it empty, which Number('') would read as 0 (and process.kill(0) is the whole process group).
 */
export function pidFromFile(file: string): number | undefined {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
  if (!text.endsWith('\n')) return undefined;
  const pid = Number(text.trim());
  return Number.isSafeInteger(pid) && pid > 0 ? pid : undefined;
}
