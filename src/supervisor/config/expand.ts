// supervisord's expand(): Python `%`-formatting of a value with a set of names,
// and its two error messages.

import { FormatKeyError, FormatSyntaxError, PyValueError, pyFormat, pyRepr, type FormatValue } from './python.js';

export type Expansions = ReadonlyMap<string, FormatValue>;

/** `%(name)s`-expand `text`; `name` is how supervisord names the value (`program:a.command`). */
export function expand(text: string, expansions: Expansions, name: string): string {
  try {
    return pyFormat(text, expansions);
  } catch (error) {
    if (error instanceof FormatKeyError) {
      const available = [...expansions.keys()].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0)).join(', ');
      throw new PyValueError(
        `Format string ${pyRepr(text)} for ${pyRepr(name)} contains names (${error.message}) which cannot be expanded. Available names: ${available}`,
      );
    }
    if (error instanceof FormatSyntaxError) {
      throw new PyValueError(`Format string ${pyRepr(text)} for ${pyRepr(name)} is badly formatted: ${error.message}`);
    }
    throw error;
  }
}

/** `ENV_<name>` for every variable of an environment. */
export function environmentExpansions(env: NodeJS.ProcessEnv | Record<string, string>): Map<string, FormatValue> {
  const out = new Map<string, FormatValue>();
  for (const [key, value] of Object.entries(env)) if (value !== undefined) out.set(`ENV_${key}`, value);
  return out;
}

/** A new map with `extra` laid over `base`. */
export function withExpansions(base: Expansions, extra: Record<string, FormatValue> | Expansions): Map<string, FormatValue> {
  const out = new Map(base);
  const entries = extra instanceof Map ? [...extra.entries()] : Object.entries(extra);
  for (const [key, value] of entries) out.set(key, value);
  return out;
}
