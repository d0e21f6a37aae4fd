import { z } from 'zod';

/**
 * Parse `env` with a zod object schema whose keys are environment variable names.
 * The error names every variable that is wrong, with what was expected, so an
 * operator can fix a deployment from the first line of the log.
 */
export function parseEnv<S extends z.ZodObject>(schema: S, env: NodeJS.ProcessEnv = process.env): z.output<S> {
  // An empty string means "unset" for every variable we read: `FOO= cmd` is how people clear one.
  const cleaned: Record<string, string> = {};
  for (const [key, value] of Object.entries(env)) {
    if (value !== undefined && value !== '') cleaned[key] = value;
  }
  const result = schema.safeParse(cleaned);
  if (result.success) return result.data;
  const problems = result.error.issues.map((issue) => {
    const variable = issue.path.join('.') || '(environment)';
    const name = typeof issue.path[0] === 'string' ? issue.path[0] : undefined;
    const given = name === undefined ? undefined : quotable(name, cleaned[name]);
    return `${variable}: ${issue.message}${given === undefined ? '' : ` (got ${JSON.stringify(given)})`}`;
  });
  throw new ConfigError(`invalid environment: ${problems.join('; ')}`);
}

// The error goes to stderr, i.e. into supervisord's and docker's logs: a secret must not be quoted
// there, not even a wrong one (it may be the right one with a typo, or another system's).
const SECRET_NAME = /KEY|TOKEN|SECRET|PASSWORD/i;

function quotable(name: string, value: string | undefined): string | undefined {
  if (value === undefined || SECRET_NAME.test(name)) return undefined;
  // A database URL carries its password: keep the rest, which is what one needs to see the mistake.
  return value.replace(/^([a-z][a-z0-9+.-]*:\/\/[^/@:]*:)[^/@]*@/i, '$1***@');
}

export class ConfigError extends Error {
  override name = 'ConfigError';
}

/**
 * `load()`, or, when it throws a ConfigError: one line `<program>: <problem>` on stderr and exit 2,
 * no stack trace. A configuration mistake is not fixed by a restart, and the first line of the
 * program's error log says what to change.
 */
export function loadConfigOrExit<T>(program: string, load: () => T): T {
  try {
    return load();
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    process.stderr.write(`${program}: ${error.message}\n`);
    process.exit(2);
  }
}

/** Helpers for the usual variable shapes. */
export const envInt = (min: number, max: number) => z.coerce.number().int().min(min).max(max);
export const envBool = z
  .enum(['1', '0', 'true', 'false', 'yes', 'no', 'on', 'off'])
  .transform((v) => v === '1' || v === 'true' || v === 'yes' || v === 'on');
/** Seconds or milliseconds with a unit, e.g. `3s`, `500ms`, `10m`; a bare number is in `defaultUnit`. */
export function envDuration(defaultUnit: 'ms' | 's') {
  return z
    .string()
    .regex(/^\d+(\.\d+)?(ms|s|m|h)?$/, 'expected a duration such as 500ms, 3s, 10m')
    .transform((text) => {
      const match = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(text)!;
      const value = Number(match[1]);
      const unit = match[2] ?? defaultUnit;
      const factor = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[unit]!;
      return Math.round(value * factor);
    });
}
/** A postgres:// or postgresql:// connection URL. */
export const envPostgresUrl = (params?: { error: string }) =>
  z.string(params).regex(/^postgres(ql)?:\/\//, 'expected a postgres:// or postgresql:// URL');
/** A shared secret (a token, a webhook secret): long enough not to be guessed. */
export const envSecret = z.string().min(16, 'must be at least 16 characters');
export const logLevel = z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']);
/** A size in bytes as supervisord writes it: `10MB`, `512KB`, `1GB` or a bare number of bytes. */
export const envBytes = z
  .string()
  .regex(/^\d+\s*(KB|MB|GB)?$/i, 'expected a size such as 10MB, 512KB or a number of bytes')
  .transform((text) => {
    const match = /^(\d+)\s*(KB|MB|GB)?$/i.exec(text)!;
    const factor = { KB: 1024, MB: 1024 ** 2, GB: 1024 ** 3 }[(match[2] ?? '').toUpperCase()] ?? 1;
    return Number(match[1]) * factor;
  });
