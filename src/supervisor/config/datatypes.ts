// supervisord's value converters (supervisor/datatypes.py): each turns the text of one key
// into a typed value or throws PyValueError with the message supervisord prints.

import { existsSync, readFileSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { AutorestartMode } from '../types.js';
import { PyValueError, pyInt, pyParseInt, pyRepr } from './python.js';
import { nonPosixTokens } from './shlex.js';

const TRUTHY = ['yes', 'true', 'on', '1'];
const FALSY = ['no', 'false', 'off', '0'];

/** `true/yes/on/1` or `false/no/off/0`, any case; else `not a valid boolean value: 'maybe'`. */
export function parseBoolean(text: string): boolean {
  const lower = text.toLowerCase();
  if (TRUTHY.includes(lower)) return true;
  if (FALSY.includes(lower)) return false;
  throw new PyValueError(`not a valid boolean value: ${pyRepr(text)}`);
}

/** Python int(): signs, surrounding blanks and `1_000` are fine, `0x10` and `1.5` are not. */
export function parseInteger(text: string): number {
  return pyInt(text);
}

const BYTE_SUFFIXES: Record<string, number> = { kb: 1024, mb: 1024 * 1024, gb: 1024 * 1024 * 1024 };

/** `1024`, `50MB`, `10 kb`, `1GB` (×1024); the error quotes the lower-cased number part as int() does. */
export function parseByteSize(text: string): number {
  const lower = text.toLowerCase();
  const multiplier = BYTE_SUFFIXES[lower.slice(-2)];
  if (multiplier !== undefined) return pyInt(lower.slice(0, -2)) * multiplier;
  return pyInt(lower);
}

/** `true`/`false`/`unexpected` (and the boolean synonyms); else `invalid 'autorestart' value 'sometimes'`. */
export function parseAutorestart(text: string): AutorestartMode {
  const lower = text.toLowerCase();
  if (TRUTHY.includes(lower)) return 'true';
  if (FALSY.includes(lower)) return 'false';
  if (lower === 'unexpected') return 'unexpected';
  throw new PyValueError(`invalid 'autorestart' value ${pyRepr(lower)}`);
}

/** `0,2` → [0, 2]; each 0..255; else `not a valid list of exit codes: '0,256'`. Empty → []. */
export function parseExitCodes(text: string): number[] {
  if (text === '') return [];
  const codes = text.split(',').map((part) => pyParseInt(part, 10));
  if (codes.some((code) => code === null || code < 0 || code > 255)) {
    throw new PyValueError(`not a valid list of exit codes: ${pyRepr(text)}`);
  }
  return codes.filter((code): code is number => code !== null);
}

/** Comma list, each item trimmed; empty → []. */
export function parseStringList(text: string | null): string[] {
  if (text === null || text === '') return [];
  return text.split(',').map((item) => item.trim());
}

/** Linux signal numbers by the name Python's signal module knows them (SIG prefix dropped). */
const SIGNALS: Record<string, number> = Object.fromEntries(
  Object.entries(os.constants.signals).map(([name, number]) => [name.slice(3), number]),
);
/** The canonical name of a number where Linux has aliases (what Python's signal.Signals calls it). */
const PREFERRED_ALIAS: Record<number, string> = { 6: 'ABRT', 17: 'CHLD', 29: 'IO' };
function signalNameOf(num: number): string | undefined {
  const preferred = PREFERRED_ALIAS[num];
  if (preferred !== undefined) return preferred;
  return Object.entries(SIGNALS).find(([, n]) => n === num)?.[0];
}

/**
 * `TERM`, `SIGTERM`, `sigterm`, ` term ` or `15` → `TERM`. Unknown names give
 * `value 'FOO' is not a valid signal name`, unknown numbers `... is not a valid signal number`.
 * Differs from supervisord only for 0 and the real-time range, which it accepts and we reject.
 */
export function parseSignalName(text: string): string {
  const asNumber = pyParseInt(text, 10);
  if (asNumber !== null) {
    const name = signalNameOf(asNumber);
    if (name === undefined) throw new PyValueError(`value ${pyRepr(text)} is not a valid signal number`);
    return name;
  }
  let name = text.trim().toUpperCase();
  if (name.startsWith('SIG')) name = name.slice(3);
  if (SIGNALS[name] === undefined) throw new PyValueError(`value ${pyRepr(text)} is not a valid signal name`);
  return name;
}

/** Octal text (`022`, `0o22`, `7`) → number; else `9 can not be converted to an octal type`. */
export function parseOctal(text: string): number {
  const value = pyParseInt(text, 8);
  if (value === null) throw new PyValueError(`${text} can not be converted to an octal type`);
  return value;
}

/**
 * `KEY=val,KEY2="v, w",K3='x'` as supervisord reads it (dict_of_key_value_pairs over a
 * non-POSIX shlex): quotes are stripped from the ends of a value; anything that does not
 * come out as key `=` value triples is `Unexpected end of key/value pairs in value '...'`.
 * Also what `A=hello world` reads as: `{A: 'hello'}` (supervisord drops the rest silently).
 */
export function parseEnvironmentValue(text: string): Record<string, string> {
  const tokens = nonPosixTokens(text, '/.+-():');
  const result: Record<string, string> = {};
  for (let i = 0; i < tokens.length; i += 4) {
    const [key, equals, value] = [tokens[i], tokens[i + 1], tokens[i + 2]];
    if (key === undefined || equals !== '=' || value === undefined) {
      throw new PyValueError(`Unexpected end of key/value pairs in value '${text}'`);
    }
    result[key] = value.replace(/^['"]+|['"]+$/gu, '');
  }
  return result;
}

/** `a b`, `a:b`, `a/b` are not names: `Invalid name: 'a b' because of character: ' '`. Returns it trimmed. */
export function parseProcessOrGroupName(text: string): string {
  const name = text.trim();
  for (const ch of [' ', ':', '/']) {
    if (name.includes(ch)) throw new PyValueError(`Invalid name: ${pyRepr(text)} because of character: ${pyRepr(ch)}`);
  }
  return name;
}

/** Python's os.path.expanduser for `~` and `~user`. */
export function expandUser(text: string, env: NodeJS.ProcessEnv): string {
  if (!text.startsWith('~')) return text;
  const slash = text.indexOf('/');
  const user = slash === -1 ? text.slice(1) : text.slice(1, slash);
  const rest = slash === -1 ? '' : text.slice(slash);
  let home: string | undefined;
  if (user === '') home = env.HOME ?? os.homedir();
  else home = readAccounts('/etc/passwd').find((entry) => entry[0] === user)?.[5];
  if (home === undefined) return text;
  return (home.replace(/\/+$/u, '') || '/') + rest;
}

function isDirectory(p: string): boolean {
  try {
    return statSync(p).isDirectory();
  } catch {
    return false;
  }
}

/** A path whose directory must exist (log and pid files); a bare file name is fine. */
export function parseExistingDirpath(text: string, env: NodeJS.ProcessEnv): string {
  const expanded = expandUser(text, env);
  const dir = path.posix.dirname(expanded);
  if (!expanded.includes('/') || isDirectory(dir)) return expanded;
  throw new PyValueError(`The directory named as part of the path ${text} does not exist`);
}

/** A directory that must exist (`[supervisord] directory`, `childlogdir`). */
export function parseExistingDirectory(text: string, env: NodeJS.ProcessEnv): string {
  const expanded = expandUser(text, env);
  if (isDirectory(expanded)) return expanded;
  throw new PyValueError(`${text} is not an existing directory`);
}

/** supervisord's logging level names. */
const LOG_LEVELS = ['critical', 'error', 'warn', 'info', 'debug', 'trace', 'blather'] as const;
export type LogLevelName = (typeof LOG_LEVELS)[number];

export function parseLogLevel(text: string): LogLevelName {
  const lower = text.toLowerCase();
  const level = LOG_LEVELS.find((name) => name === lower);
  if (level === undefined) throw new PyValueError(`bad logging level name ${pyRepr(text)}`);
  return level;
}

/** `[host:]port` (`*:9001`, `:9001`, `9001`); `''` host means every interface. */
export function parseInetAddress(text: string): { host: string; port: number } {
  const portNumber = (digits: string): number => {
    const port = pyInt(digits);
    if (port < 1) throw new PyValueError(`${port} is below lower bound (1)`);
    if (port > 0xffff) throw new PyValueError(`${port} is above upper bound (65535)`);
    return port;
  };
  let host = '';
  let port: number;
  const colon = text.lastIndexOf(':');
  if (colon !== -1) {
    const digits = text.slice(colon + 1);
    if (digits === '') throw new PyValueError(`no port number specified in ${pyRepr(digits)}`);
    port = portNumber(digits);
    host = text.slice(0, colon).toLowerCase();
  } else {
    try {
      port = portNumber(text);
    } catch {
      throw new PyValueError(`not a valid port number: ${pyRepr(text)} `);
    }
  }
  if (host === '*') host = '';
  return { host, port };
}

type AccountEntry = string[];

/** Entries of /etc/passwd or /etc/group (colon-separated fields); [] when unreadable. */
function readAccounts(file: string): AccountEntry[] {
  if (!existsSync(file)) return [];
  try {
    return readFileSync(file, 'utf8')
      .split('\n')
      .filter((line) => line !== '' && !line.startsWith('#'))
      .map((line) => line.split(':'));
  } catch {
    return [];
  }
}

export interface ResolvedUser {
  name: string;
  uid: number;
  gid: number;
}

/**
 * A user name or uid, resolved through /etc/passwd (Node has no getpwnam; NSS sources other
 * than files are not consulted). Errors as supervisord: `Invalid user name x` / `Invalid user id 99`.
 */
export function resolveUser(text: string, passwdFile = '/etc/passwd'): ResolvedUser {
  const entries = readAccounts(passwdFile);
  const asNumber = pyParseInt(text, 10);
  const entry =
    asNumber !== null ? entries.find((e) => Number(e[2]) === asNumber) : entries.find((e) => e[0] === text);
  if (entry === undefined) {
    throw new PyValueError(asNumber !== null ? `Invalid user id ${text}` : `Invalid user name ${text}`);
  }
  return { name: entry[0] ?? text, uid: Number(entry[2]), gid: Number(entry[3]) };
}

/** A group name or gid, through /etc/group: `Invalid group name x` / `Invalid group id 99`. */
export function resolveGroup(text: string, groupFile = '/etc/group'): { name: string; gid: number } {
  const entries = readAccounts(groupFile);
  const asNumber = pyParseInt(text, 10);
  const entry =
    asNumber !== null ? entries.find((e) => Number(e[2]) === asNumber) : entries.find((e) => e[0] === text);
  if (entry === undefined) {
    throw new PyValueError(asNumber !== null ? `Invalid group id ${text}` : `Invalid group name ${text}`);
  }
  return { name: entry[0] ?? text, gid: Number(entry[2]) };
}
