// Byte sizes as supervisor and superlance spell them (supervisor.datatypes.byte_size): an integer with an
// optional case-insensitive KB/MB/GB suffix, multiples of 1024.
const MULTIPLIERS: Record<string, number> = { kb: 1024, mb: 1024 ** 2, gb: 1024 ** 3 };

export function parseByteSize(text: string): number {
  const lower = text.trim().toLowerCase();
  const suffix = lower.slice(-2);
  const multiplier = MULTIPLIERS[suffix];
  const digits = multiplier === undefined ? lower : lower.slice(0, -2);
  if (!/^\d+$/.test(digits)) throw new Error(`not a byte size: ${JSON.stringify(text)} (an integer with an optional KB, MB or GB suffix)`);
  return Number(digits) * (multiplier ?? 1);
}

/** 524288000 → `500.0MB` (the way memmon's log lines show figures). */
export function formatBytes(bytes: number): string {
  if (bytes >= 1024 ** 3) return `${(bytes / 1024 ** 3).toFixed(1)}GB`;
  if (bytes >= 1024 ** 2) return `${(bytes / 1024 ** 2).toFixed(1)}MB`;
  if (bytes >= 1024) return `${(bytes / 1024).toFixed(1)}KB`;
  return `${bytes}B`;
}
