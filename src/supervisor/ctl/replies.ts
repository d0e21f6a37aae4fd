// What supervisorctl expects back from each supervisord method: every reply is parsed once, then used typed.
import { array, boolean, int, object, string, tuple } from 'zod/mini';

// zod/mini with named imports: the client bundle stays small (full zod would add ~450 KB to parse at start).
export const processInfo = object({
  name: string(),
  group: string(),
  state: int(),
  statename: string(),
  description: string(),
  pid: int(),
});
export interface ProcessInfoReply {
  name: string;
  group: string;
  state: number;
  statename: string;
  description: string;
  pid: number;
}
export const processInfoList = array(processInfo);
const resultStruct = object({ name: string(), group: string(), status: int(), description: string() });
export interface ResultReply {
  name: string;
  group: string;
  status: number;
  description: string;
}
export const resultList = array(resultStruct);
export const configInfoList = array(
  object({
    name: string(),
    group: string(),
    inuse: boolean(),
    autostart: boolean(),
    group_prio: int(),
    process_prio: int(),
  }),
);
const stringList = array(string());
export const reloadReply = array(tuple([stringList, stringList, stringList]));
export const stringReply = string();
export const intReply = int();

/** supervisord sent something that is not what the method returns. */
export class UnexpectedReplyError extends Error {
  constructor(method: string, problem: string) {
    super(`unexpected reply to ${method}: ${problem}`);
    this.name = 'UnexpectedReplyError';
  }
}
