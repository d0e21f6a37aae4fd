// Small pieces of Python semantics that supervisord's messages and conversions depend on:
// repr() of a string, int() of a string, and the `%` operator with a mapping.

/** Python's repr() of a str: single quotes unless the text has ' and no ". */
export function pyRepr(text: string): string {
  const quote = text.includes("'") && !text.includes('"') ? '"' : "'";
  let out = quote;
  for (const ch of text) {
    const code = ch.codePointAt(0) ?? 0;
    if (ch === quote || ch === '\\') out += `\\${ch}`;
    else if (ch === '\n') out += '\\n';
    else if (ch === '\r') out += '\\r';
    else if (ch === '\t') out += '\\t';
    else if (code < 0x20 || code === 0x7f) out += `\\x${code.toString(16).padStart(2, '0')}`;
    else if (/[\p{Cc}\p{Cf}\p{Cs}\p{Co}\p{Cn}\p{Zl}\p{Zp}]/u.test(ch) || (/\p{Zs}/u.test(ch) && ch !== ' ')) {
      // Python escapes the characters it does not consider printable.
      if (code <= 0xff) out += `\\x${code.toString(16).padStart(2, '0')}`;
      else if (code <= 0xffff) out += `\\u${code.toString(16).padStart(4, '0')}`;
      else out += `\\U${code.toString(16).padStart(8, '0')}`;
    } else out += ch;
  }
  return out + quote;
}

/** The ValueError Python raises; its message is what supervisord prints. */
export class PyValueError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PyValueError';
  }
}

const DIGIT_RUNS = { 10: /^[0-9](_?[0-9])*$/u, 8: /^[0-7](_?[0-7])*$/u } as const;

/**
 * Python's int(text, base) for base 10 and 8: surrounding whitespace and a sign are allowed,
 * single underscores between digits too; base 8 also takes a `0o` prefix. Returns null when invalid.
 */
export function pyParseInt(text: string, base: 10 | 8): number | null {
  let body = text.trim();
  let sign = 1;
  if (body.startsWith('+') || body.startsWith('-')) {
    if (body.startsWith('-')) sign = -1;
    body = body.slice(1);
  }
  if (base === 8 && /^0[oO]/u.test(body)) body = body.slice(2).replace(/^_/u, '');
  if (!DIGIT_RUNS[base].test(body)) return null;
  return sign * Number.parseInt(body.replace(/_/gu, ''), base);
}

/** int(text) with Python's error: `invalid literal for int() with base 10: 'abc'`. */
export function pyInt(text: string): number {
  const value = pyParseInt(text, 10);
  if (value === null) throw new PyValueError(`invalid literal for int() with base 10: ${pyRepr(text)}`);
  return value;
}

/** Why `%`-formatting failed, split as supervisord's expand() splits it. */
export class FormatKeyError extends Error {
  constructor(readonly key: string) {
    super(pyRepr(key));
    this.name = 'FormatKeyError';
  }
}
export class FormatSyntaxError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'FormatSyntaxError';
  }
}

export type FormatValue = string | number;

const CONVERSIONS = 'diouxXeEfFgGcrsa';

function formatNumber(value: number, conversion: string, flags: string, precision: number | null): string {
  const negative = value < 0 || Object.is(value, -0);
  const magnitude = Math.abs(value);
  let body: string;
  let prefix = '';
  switch (conversion) {
    case 'd':
    case 'i':
    case 'u':
      body = Math.trunc(magnitude).toString();
      if (precision !== null) body = body.padStart(precision, '0');
      break;
    case 'o':
      body = Math.trunc(magnitude).toString(8);
      if (flags.includes('#')) prefix = '0o';
      break;
    case 'x':
    case 'X':
      body = Math.trunc(magnitude).toString(16);
      if (flags.includes('#')) prefix = '0x';
      if (conversion === 'X') {
        body = body.toUpperCase();
        prefix = prefix.toUpperCase();
      }
      break;
    case 'e':
    case 'E':
      body = magnitude.toExponential(precision ?? 6).replace(/e([+-])(\d)$/u, 'e$10$2');
      if (conversion === 'E') body = body.toUpperCase();
      break;
    case 'f':
    case 'F':
      body = magnitude.toFixed(precision ?? 6);
      break;
    default: {
      // g/G: shortest of %e and %f at the given significant digits, trailing zeros removed.
      const significant = precision === 0 ? 1 : (precision ?? 6);
      const exponent = magnitude === 0 ? 0 : Math.floor(Math.log10(magnitude));
      body =
        exponent < -4 || exponent >= significant
          ? magnitude.toExponential(significant - 1).replace(/e([+-])(\d)$/u, 'e$10$2')
          : magnitude.toFixed(Math.max(0, significant - 1 - exponent));
      if (!flags.includes('#') && body.includes('.')) body = body.replace(/\.?0+(?=e|$)/u, '');
      if (conversion === 'G') body = body.toUpperCase();
    }
  }
  const sign = negative ? '-' : flags.includes('+') ? '+' : flags.includes(' ') ? ' ' : '';
  return sign + prefix + body;
}

/** Apply width and the `-`/`0` flags; zero padding goes between sign/prefix and digits. */
function pad(text: string, width: number, flags: string, numeric: boolean): string {
  if (text.length >= width) return text;
  if (flags.includes('-')) return text.padEnd(width);
  if (numeric && flags.includes('0')) {
    const lead = /^[-+ ]?(0[xXo])?/u.exec(text)?.[0] ?? '';
    return lead + text.slice(lead.length).padStart(width - lead.length, '0');
  }
  return text.padStart(width);
}

function typeName(value: FormatValue): string {
  return typeof value === 'number' ? 'int' : 'str';
}

const WHOLE_MAPPING = Symbol('whole mapping');

/** `'%s' % {…}`: the dict's repr for s/r/a, Python's type errors otherwise. */
function formatWholeMapping(
  mapping: ReadonlyMap<string, FormatValue>,
  conversion: string,
  width: number,
  flags: string,
  precision: number | null,
): string {
  if (conversion === 's' || conversion === 'r' || conversion === 'a') {
    const items = [...mapping].map(([k, v]) => `${pyRepr(k)}: ${typeof v === 'number' ? String(v) : pyRepr(v)}`);
    let text = `{${items.join(', ')}}`;
    if (precision !== null) text = text.slice(0, precision);
    return pad(text, width, flags, false);
  }
  if ('diu'.includes(conversion)) throw new FormatSyntaxError(`%${conversion} format: a real number is required, not dict`);
  if ('oxX'.includes(conversion)) throw new FormatSyntaxError(`%${conversion} format: an integer is required, not dict`);
  if (conversion === 'c') throw new FormatSyntaxError('%c requires int or char');
  throw new FormatSyntaxError('must be real number, not dict');
}

/**
 * Python's `template % mapping` for the subset supervisord uses: `%(name)<flags><width>.<prec><conv>`
 * and `%%`. Throws FormatKeyError for a missing name and FormatSyntaxError (Python's wording)
 * for a malformed template.
 */
export function pyFormat(template: string, mapping: ReadonlyMap<string, FormatValue>): string {
  let out = '';
  let i = 0;
  let specifiers = 0;
  const end = template.length;
  while (i < end) {
    const percent = template.indexOf('%', i);
    if (percent === -1) {
      out += template.slice(i);
      break;
    }
    out += template.slice(i, percent);
    i = percent + 1;
    if (i >= end) throw new FormatSyntaxError('incomplete format');
    let key: string | null = null;
    if (template[i] === '(') {
      let depth = 1;
      const keyStart = i + 1;
      i += 1;
      while (depth > 0 && i < end) {
        if (template[i] === ')') depth -= 1;
        else if (template[i] === '(') depth += 1;
        i += 1;
      }
      if (depth > 0) throw new FormatSyntaxError('incomplete format key');
      key = template.slice(keyStart, i - 1);
    }
    let flags = '';
    while (i < end && '-+ #0'.includes(template[i] ?? '')) {
      flags += template[i];
      i += 1;
    }
    let width = 0;
    if (template[i] === '*') throw new FormatSyntaxError('* wants int');
    while (i < end && /[0-9]/u.test(template[i] ?? '')) {
      width = width * 10 + Number(template[i]);
      i += 1;
    }
    let precision: number | null = null;
    if (template[i] === '.') {
      i += 1;
      if (template[i] === '*') throw new FormatSyntaxError('* wants int');
      precision = 0;
      while (i < end && /[0-9]/u.test(template[i] ?? '')) {
        precision = precision * 10 + Number(template[i]);
        i += 1;
      }
    }
    while (i < end && 'hlL'.includes(template[i] ?? '')) i += 1;
    if (i >= end) throw new FormatSyntaxError('incomplete format');
    const conversion = template[i] ?? '';
    i += 1;
    if (conversion === '%') {
      out += '%';
      continue;
    }
    specifiers += 1;
    // Without a name Python formats the whole mapping, and only for the first specifier.
    if (key === null && specifiers > 1) throw new FormatSyntaxError('not enough arguments for format string');
    const value = key === null ? WHOLE_MAPPING : mapping.get(key);
    if (value === undefined) throw new FormatKeyError(key ?? '');
    if (!CONVERSIONS.includes(conversion)) {
      const code = conversion.codePointAt(0) ?? 0;
      throw new FormatSyntaxError(
        `unsupported format character ${pyRepr(conversion)} (0x${code.toString(16)}) at index ${i - 1}`,
      );
    }
    if (value === WHOLE_MAPPING) {
      out += formatWholeMapping(mapping, conversion, width, flags, precision);
      continue;
    }
    if (conversion === 's' || conversion === 'r' || conversion === 'a') {
      let text = conversion === 's' || typeof value === 'number' ? String(value) : pyRepr(value);
      if (precision !== null) text = text.slice(0, precision);
      out += pad(text, width, flags, false);
      continue;
    }
    if (conversion === 'c') {
      if (typeof value === 'number') out += pad(String.fromCodePoint(value), width, flags, false);
      else if ([...value].length === 1) out += pad(value, width, flags, false);
      else throw new FormatSyntaxError('%c requires int or char');
      continue;
    }
    if (typeof value !== 'number') {
      const what = 'diu'.includes(conversion)
        ? `%${conversion} format: a real number is required, not ${typeName(value)}`
        : 'oxX'.includes(conversion)
          ? `%${conversion} format: an integer is required, not ${typeName(value)}`
          : `must be real number, not ${typeName(value)}`;
      throw new FormatSyntaxError(what);
    }
    out += pad(formatNumber(value, conversion, flags, precision), width, flags, true);
  }
  return out;
}
