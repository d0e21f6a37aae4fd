// What supervisorctl expects back from each supervisord method: every reply is parsed once, then used typed.
//
// Hand-written rather than zod/mini: supervisorctl's start-up is most of its run time (npm run bench:ctl), and
// zod/mini with these schemas cost ~1.6 ms of module set-up and ~290 KB of young-generation allocation per run,
// enough to add a ~1 ms scavenge. The decoded XML-RPC values need only strings, ints, booleans, structs, arrays.

/** Parses one decoded XML-RPC value as T, or throws ReplyShapeError naming where and how it differs. */
export type ReplyShape<T> = (value: unknown, path: readonly (string | number)[]) => T;

export class ReplyShapeError extends Error {
  constructor(
    readonly path: readonly (string | number)[],
    problem: string,
  ) {
    super(problem);
    this.name = 'ReplyShapeError';
  }
}

function kindOf(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  if (value === undefined) return 'nothing';
  return typeof value === 'object' ? 'struct' : typeof value;
}

function scalar<T>(expected: string, accepts: (value: unknown) => value is T): ReplyShape<T> {
  return (value, path) => {
    if (!accepts(value)) throw new ReplyShapeError(path, `expected ${expected}, received ${kindOf(value)}`);
    return value;
  };
}

export const stringReply: ReplyShape<string> = scalar('string', (v): v is string => typeof v === 'string');
export const intReply: ReplyShape<number> = scalar('int', (v): v is number => Number.isSafeInteger(v));
const booleanReply: ReplyShape<boolean> = scalar('boolean', (v): v is boolean => typeof v === 'boolean');

/** A struct with these members (others are dropped): a new object holding only the parsed members. */
function struct<T extends object>(members: { [K in keyof T]: ReplyShape<T[K]> }): ReplyShape<T> {
  const entries = Object.entries<ReplyShape<unknown>>(members);
  return (value, path) => {
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      throw new ReplyShapeError(path, `expected struct, received ${kindOf(value)}`);
    }
    const record = value as Record<string, unknown>;
    const parsed: Record<string, unknown> = {};
    for (const [name, member] of entries) parsed[name] = member(record[name], [...path, name]);
    return parsed as T;
  };
}

function arrayOf<T>(item: ReplyShape<T>): ReplyShape<T[]> {
  return (value, path) => {
    if (!Array.isArray(value)) throw new ReplyShapeError(path, `expected array, received ${kindOf(value)}`);
    return value.map((element, i) => item(element, [...path, i]));
  };
}

function triple<T>(item: ReplyShape<T>): ReplyShape<[T, T, T]> {
  return (value, path) => {
    if (!Array.isArray(value) || value.length !== 3) {
      throw new ReplyShapeError(path, `expected array of 3, received ${Array.isArray(value) ? `array of ${value.length}` : kindOf(value)}`);
    }
    return [item(value[0], [...path, 0]), item(value[1], [...path, 1]), item(value[2], [...path, 2])];
  };
}

export interface ProcessInfoReply {
  name: string;
  group: string;
  state: number;
  statename: string;
  description: string;
  pid: number;
}
export const processInfo = struct<ProcessInfoReply>({
  name: stringReply,
  group: stringReply,
  state: intReply,
  statename: stringReply,
  description: stringReply,
  pid: intReply,
});
export const processInfoList = arrayOf(processInfo);

export interface ResultReply {
  name: string;
  group: string;
  status: number;
  description: string;
}
export const resultList = arrayOf(struct<ResultReply>({ name: stringReply, group: stringReply, status: intReply, description: stringReply }));

export interface ConfigInfoReply {
  name: string;
  group: string;
  inuse: boolean;
  autostart: boolean;
  group_prio: number;
  process_prio: number;
}
export const configInfoList = arrayOf(
  struct<ConfigInfoReply>({
    name: stringReply,
    group: stringReply,
    inuse: booleanReply,
    autostart: booleanReply,
    group_prio: intReply,
    process_prio: intReply,
  }),
);

/** reloadConfig: one [added, changed, removed] triple of group names. */
export const reloadReply = arrayOf(triple(arrayOf(stringReply)));

/** supervisord sent something that is not what the method returns. */
export class UnexpectedReplyError extends Error {
  constructor(method: string, problem: string) {
    super(`unexpected reply to ${method}: ${problem}`);
    this.name = 'UnexpectedReplyError';
  }
}
