import type { LogTarget, ProcessConfig } from '../types.js';

/** AUTO log paths are random per load; two loads of one file must still compare equal. */
function comparableTarget(target: LogTarget): LogTarget {
  return target.kind === 'file' && target.auto ? { ...target, path: '' } : target;
}

function canonical(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(canonical);
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(
      Object.entries(value)
        .filter(([, v]) => v !== undefined)
        .sort(([a], [b]) => (a < b ? -1 : 1))
        .map(([k, v]) => [k, canonical(v)]),
    );
  }
  return value;
}

/**
 * Whether two process configs are the same for reread/update (supervisord compares the parsed
 * options, where AUTO is still a marker, not a file name).
 */
export function sameProcessConfig(a: ProcessConfig, b: ProcessConfig): boolean {
  const strip = (p: ProcessConfig): unknown =>
    canonical({ ...p, stdout: comparableTarget(p.stdout), stderr: comparableTarget(p.stderr) });
  return JSON.stringify(strip(a)) === JSON.stringify(strip(b));
}
