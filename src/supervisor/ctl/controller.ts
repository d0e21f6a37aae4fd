// supervisorctl's command loop: one line → one action of the table. Output lines and exit codes
// follow Python supervisorctl 4.2.5 exactly (scripts and probes parse them), including its LSB exit
// codes and its quirks. The actions live by group: process-, log-, config- and daemon-actions.ts.
import { configActions } from './config-actions.js';
import { daemonActions } from './daemon-actions.js';
import { logActions } from './log-actions.js';
import type { CtlOptions } from './options.js';
import { processActions } from './process-actions.js';
import { UnexpectedReplyError } from './replies.js';
import { ActionDone, CtlSession, ExitStatus, type ActionTable, type CtlIo } from './session.js';
import { RpcConnectionError, RpcFault, RpcProtocolError, ServerUrlError } from './transport.js';

export { ExitStatus, type CtlIo } from './session.js';

/**
 * Python's exception for the errors a connection meets, by the errno name Node gives: its OSError
 * subclass, the number and glibc's strerror text, which Python prints (`[Errno 113] No route to host`).
 */
export const OS_ERRORS: Partial<Record<string, { pythonClass: string; errno: number; text: string }>> = {
  EPERM: { pythonClass: 'PermissionError', errno: 1, text: 'Operation not permitted' },
  ENOENT: { pythonClass: 'FileNotFoundError', errno: 2, text: 'No such file or directory' },
  EACCES: { pythonClass: 'PermissionError', errno: 13, text: 'Permission denied' },
  EINVAL: { pythonClass: 'OSError', errno: 22, text: 'Invalid argument' },
  EPIPE: { pythonClass: 'BrokenPipeError', errno: 32, text: 'Broken pipe' },
  ENOTSOCK: { pythonClass: 'OSError', errno: 88, text: 'Socket operation on non-socket' },
  EADDRNOTAVAIL: { pythonClass: 'OSError', errno: 99, text: 'Cannot assign requested address' },
  ENETUNREACH: { pythonClass: 'OSError', errno: 101, text: 'Network is unreachable' },
  ECONNABORTED: { pythonClass: 'ConnectionAbortedError', errno: 103, text: 'Software caused connection abort' },
  ECONNRESET: { pythonClass: 'ConnectionResetError', errno: 104, text: 'Connection reset by peer' },
  ETIMEDOUT: { pythonClass: 'TimeoutError', errno: 110, text: 'Connection timed out' },
  ECONNREFUSED: { pythonClass: 'ConnectionRefusedError', errno: 111, text: 'Connection refused' },
  EHOSTUNREACH: { pythonClass: 'OSError', errno: 113, text: 'No route to host' },
};

/**
 * A host name that does not resolve: Python's getaddrinfo raises socket.gaierror with the EAI_ number.
 * Node names EAI_NONAME and EAI_NODATA both ENOTFOUND; the first is what an unknown name gives.
 */
export const NAME_LOOKUP_ERRORS: Partial<Record<string, { errno: number; text: string }>> = {
  ENOTFOUND: { errno: -2, text: 'Name or service not known' },
  EAI_AGAIN: { errno: -3, text: 'Temporary failure in name resolution' },
};

/**
 * The real client reports unexpected exceptions as Python's `compact_traceback()` line. We print
 * the same line for the same conditions so that log scrapers written for it keep matching.
 */
export function pythonErrorLine(error: unknown, serverIsUnix: boolean): string {
  const rpcFile = '/usr/lib/python3/dist-packages/supervisor/xmlrpc.py';
  if (error instanceof RpcFault) {
    return `error: <class 'xmlrpc.client.Fault'>, ${error.message}: file: /usr/lib/python3.11/xmlrpc/client.py line: 668`;
  }
  if (error instanceof RpcProtocolError) {
    return `error: <class 'xmlrpc.client.ProtocolError'>, ${error.message}: file: ${rpcFile} line: 539`;
  }
  if (error instanceof RpcConnectionError) {
    const where = serverIsUnix ? `${rpcFile} line: 557` : '/usr/lib/python3.11/socket.py line: 836';
    const lookup = NAME_LOOKUP_ERRORS[error.code];
    if (lookup !== undefined && !serverIsUnix) {
      return `error: <class 'socket.gaierror'>, [Errno ${lookup.errno}] ${lookup.text}: file: /usr/lib/python3.11/socket.py line: 962`;
    }
    const known = OS_ERRORS[error.code];
    if (known === undefined) return `error: <class 'OSError'>, ${error.message}: file: ${where}`;
    return `error: <class '${known.pythonClass}'>, [Errno ${known.errno}] ${known.text}: file: ${where}`;
  }
  if (error instanceof ServerUrlError) {
    return `error: <class 'ValueError'>, ${error.message}: file: ${error.where}`;
  }
  if (error instanceof UnexpectedReplyError) {
    return `error: <class 'ValueError'>, ${error.message}: file: supervisorctl line: 0`;
  }
  const message = error instanceof Error ? error.message : String(error);
  return `error: <class 'Exception'>, ${message}: file: supervisorctl line: 0`;
}

export class Controller {
  private readonly session: CtlSession;
  private readonly table: ActionTable;

  constructor(options: CtlOptions, io: CtlIo) {
    this.session = new CtlSession(options, io);
    this.table = this.actions();
  }

  get exitStatus(): number {
    return this.session.exitStatus;
  }

  get io(): CtlIo {
    return this.session.io;
  }

  /** Runs one command line; returns true when the shell should end (quit/exit/EOF). */
  async onecmd(line: string): Promise<boolean> {
    const parsed = parseLine(line);
    if (parsed === null) return false;
    const { command, arg } = parsed;
    // Own keys only: `toString` is not an action (cmd.Cmd looks up do_<command>).
    const action = Object.hasOwn(this.table, command) ? this.table[command] : undefined;
    if (action === undefined) {
      this.session.output(`*** Unknown syntax: ${line.trim()}`);
      this.session.exitStatus = ExitStatus.GENERIC;
      return false;
    }
    try {
      try {
        return (await action(arg)) === true;
      } catch (error) {
        if (!(error instanceof RpcProtocolError)) throw error;
        if (error.status !== 401) {
          this.session.exitStatus = ExitStatus.GENERIC;
          throw error;
        }
        this.session.output('Server requires authentication');
        if (this.session.options.interactive && this.session.io.ask !== null) {
          this.session.options.username = await this.session.io.ask('Username:');
          this.session.options.password = await this.session.io.ask('Password:');
          this.session.output('');
          this.session.reconnect(this.session.options.serverurl);
          return this.onecmd(line);
        }
        this.session.exitStatus = ExitStatus.GENERIC;
        // The real client runs the action a second time here and prints that failure too.
        await action(arg);
      }
    } catch (error) {
      if (error instanceof ActionDone) return false;
      this.session.output(pythonErrorLine(error, this.session.isUnix));
      this.session.exitStatus = ExitStatus.GENERIC;
    }
    return false;
  }

  private actions(): ActionTable {
    return {
      ...daemonActions(this.session),
      ...processActions(this.session),
      ...logActions(this.session),
      ...configActions(this.session),
    };
  }
}

/** cmd.Cmd.parseline: `?x` is `help x`, the command is the leading identifier characters. */
export function parseLine(raw: string): { command: string; arg: string } | null {
  let line = raw.trim();
  if (line === '') return null;
  if (line.startsWith('?')) line = `help ${line.slice(1)}`;
  const match = /^[A-Za-z0-9_]*/.exec(line);
  const command = match?.[0] ?? '';
  return { command, arg: line.slice(command.length).trim() };
}
