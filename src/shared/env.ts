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
    const given = typeof issue.path[0] === 'string' ? cleaned[issue.path[0]] : undefined;
    return `${variable}: ${issue.message}${given === undefined ? '' : ` (got ${JSON.stringify(given)})`}`;
  });
  throw new ConfigError(`invalid environment: ${problems.join('; ')}`);
}

export class ConfigError extends Error {
  override name = 'ConfigError';
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
export const logLevel = z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']);
