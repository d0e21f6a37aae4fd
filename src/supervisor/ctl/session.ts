// The state one supervisorctl run shares between its actions (connection, options, exit status)
// and the helpers every action uses: the version check, typed calls, supervisorctl's exit codes.
import { API_VERSION } from '../protocol.js';
import { FaultCode } from '../types.js';
import { HELP_TEXT } from './help.js';
import type { CtlOptions } from './options.js';
import { ReplyShapeError, stringReply, UnexpectedReplyError, type ReplyShape, type ResultReply } from './replies.js';
import type { XmlRpcValue } from '../rpc/xmlrpc.js';
import { parseServerUrl, RpcConnectionError, RpcFault, XmlRpcClient } from './transport.js';

export const ExitStatus = {
  SUCCESS: 0,
  GENERIC: 1,
  INVALID_ARGS: 2,
  UNIMPLEMENTED_FEATURE: 3,
  INSUFFICIENT_PRIVILEGES: 4,
  NOT_INSTALLED: 5,
  NOT_RUNNING: 7,
} as const;

export const StatusExit = { NOT_RUNNING: 3, UNKNOWN: 4 } as const;

const DEAD_PROGRAM_FAULTS = new Set<number>([FaultCode.SPAWN_ERROR, FaultCode.ABNORMAL_TERMINATION, FaultCode.NOT_RUNNING]);

export interface CtlIo {
  out(text: string): void;
  err(text: string): void;
  /** Interactive questions (Username:, Really shut down y/N?); null when not interactive. */
  ask: ((question: string) => Promise<string>) | null;
  /** The next line of stdin (`fg` forwards them), null at end of input. */
  readLine(): Promise<string | null>;
  /** Resolves when the user presses Ctrl-C (ends `tail -f`). */
  interrupted(): Promise<void>;
}

/** Python's `'%-Ns' % text`. */
export function padRight(text: string, width: number): string {
  return text.length >= width ? text : text + ' '.repeat(width - text.length);
}

/** Stops the current action after its output was printed and the exit status set. */
export class ActionDone extends Error {}

/** One action of the table: resolves true when the shell should end. */
export type Action = (arg: string) => Promise<boolean | void>;
export type ActionTable = Record<string, Action>;

export class CtlSession {
  exitStatus: number = ExitStatus.SUCCESS;
  private current: XmlRpcClient | undefined;

  constructor(
    readonly options: CtlOptions,
    readonly io: CtlIo,
  ) {}

  /**
   * The connection to supervisord, made at the first command that needs it: as in Python's client, a
   * serverurl it cannot use (ServerUrlError) fails those commands, not `help` or the shell.
   */
  get client(): XmlRpcClient {
    this.current ??= new XmlRpcClient(parseServerUrl(this.options.serverurl), this.options);
    return this.current;
  }

  /** Talk to another supervisord from now on (`open`), or again with new credentials. */
  reconnect(serverurl: string): void {
    this.options.serverurl = serverurl;
    this.current = undefined;
  }

  output(text: string): void {
    this.io.out(`${text}\n`);
  }

  get isUnix(): boolean {
    return this.options.serverurl.startsWith('unix://');
  }

  async rpc<T>(method: string, params: Array<string | number | boolean>, shape: ReplyShape<T>): Promise<T> {
    return this.parseReply(method, await this.client.call(method, params), shape);
  }

  /**
   * Calls without parameters made together in one system.multicall request (one connection instead of one
   * per call): each element is that call's reply, or the RpcFault supervisord put in its place.
   */
  async callTogether(methods: readonly string[]): Promise<Array<XmlRpcValue | RpcFault>> {
    let replies: XmlRpcValue;
    try {
      replies = await this.client.call('system.multicall', [methods.map((methodName) => ({ methodName, params: [] }))]);
    } catch (error) {
      // A server without system.multicall (every supervisord has it; a look-alike may not): one call each.
      if (!(error instanceof RpcFault && error.faultCode === FaultCode.UNKNOWN_METHOD)) throw error;
      const faultAsReply = (fault: unknown): RpcFault => {
        if (fault instanceof RpcFault) return fault;
        throw fault;
      };
      return Promise.all(methods.map((method) => this.client.call(method).catch(faultAsReply)));
    }
    if (!Array.isArray(replies) || replies.length !== methods.length) {
      throw new UnexpectedReplyError('system.multicall', `expected an array of ${methods.length} results`);
    }
    return replies.map((reply) => {
      const fault = typeof reply === 'object' && reply !== null && !Array.isArray(reply) ? (reply as Record<string, XmlRpcValue>) : undefined;
      if (fault && typeof fault.faultCode === 'number' && typeof fault.faultString === 'string') return new RpcFault(fault.faultCode, fault.faultString);
      return reply;
    });
  }

  /** One reply parsed with its shape; a fault in its place (callTogether) is thrown as the call would have. */
  parseReply<T>(method: string, reply: XmlRpcValue | RpcFault, shape: ReplyShape<T>): T {
    if (reply instanceof RpcFault) throw reply;
    try {
      return shape(reply, []);
    } catch (error) {
      if (!(error instanceof ReplyShapeError)) throw error;
      throw new UnexpectedReplyError(method, `${error.path.join('.') || 'value'}: ${error.message}`);
    }
  }

  helpFor(topic: string): void {
    const text = HELP_TEXT[topic];
    if (text !== undefined) this.io.out(text);
  }

  fail(status: number, ...lines: string[]): never {
    for (const line of lines) this.output(line);
    this.exitStatus = status;
    throw new ActionDone();
  }

  setExitFromFault(code: number, ignored?: number): void {
    if (code === ignored || code === FaultCode.SUCCESS) return;
    this.exitStatus = DEAD_PROGRAM_FAULTS.has(code) ? ExitStatus.NOT_RUNNING : ExitStatus.GENERIC;
  }

  /**
   * getVersion first, as the real client does, to tell "not running" from "not supervisord". `version` is
   * that call already under way (status sends it together with its listing).
   */
  async upcheck(version?: Promise<string>): Promise<boolean> {
    try {
      const api = await (version ?? this.rpc('supervisor.getVersion', [], stringReply));
      if (api !== API_VERSION) {
        this.output(
          `Sorry, this version of supervisorctl expects to talk to a server with API version ${API_VERSION}, but the remote version is ${api}.`,
        );
        this.exitStatus = ExitStatus.NOT_INSTALLED;
        return false;
      }
    } catch (error) {
      if (error instanceof RpcFault) {
        if (error.faultCode === FaultCode.UNKNOWN_METHOD) {
          this.output(
            'Sorry, supervisord responded but did not recognize the supervisor namespace commands that supervisorctl uses to control it.  Please check that the [rpcinterface:supervisor] section is enabled in the configuration file (see sample.conf).',
          );
          this.exitStatus = ExitStatus.UNIMPLEMENTED_FEATURE;
          return false;
        }
        this.exitStatus = ExitStatus.GENERIC;
        throw error;
      }
      if (error instanceof RpcConnectionError) {
        if (error.code === 'ECONNREFUSED') {
          this.output(`${this.options.serverurl} refused connection`);
          this.exitStatus = ExitStatus.INSUFFICIENT_PRIVILEGES;
          return false;
        }
        if (error.code === 'ENOENT') {
          this.output(`${this.options.serverurl} no such file`);
          this.exitStatus = ExitStatus.NOT_RUNNING;
          return false;
        }
        this.exitStatus = ExitStatus.GENERIC;
      }
      throw error;
    }
    return true;
  }

  /** A fault for one named process, shaped like a group result struct. */
  faultResult(error: unknown, group: string, process: string | null): ResultReply {
    if (!(error instanceof RpcFault)) throw error;
    return { status: error.faultCode, name: process ?? 'None', group, description: error.faultString };
  }

  noArguments(command: string, arg: string): void {
    if (arg.trim() !== '') {
      this.output(`Error: ${command} accepts no arguments`);
      this.exitStatus = ExitStatus.GENERIC;
      this.helpFor(command);
      throw new ActionDone();
    }
  }

  /** SHUTDOWN_STATE prints `message` (GENERIC); anything else propagates. */
  shuttingDownOr(error: unknown, message: string): void {
    if (error instanceof RpcFault) {
      this.exitStatus = ExitStatus.GENERIC;
      if (error.faultCode === FaultCode.SHUTDOWN_STATE) {
        this.output(message);
        return;
      }
    }
    throw error;
  }

  async confirm(question: string): Promise<boolean> {
    if (!this.options.interactive || this.io.ask === null) return true;
    return (await this.io.ask(question)).toLowerCase().startsWith('y');
  }
}
