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
import { RpcConnectionError, RpcFault, RpcProtocolError } from './transport.js';

export { ExitStatus, type CtlIo } from './session.js';

/**
 * The real client reports unexpected exceptions as Python's `compact_traceback()` line. We print
 * the same line for the same conditions so that log scrapers written for it keep matching.
 */
function pythonErrorLine(error: unknown, serverIsUnix: boolean): string {
  const rpcFile = '/usr/lib/python3/dist-packages/supervisor/xmlrpc.py';
  if (error instanceof RpcFault) {
    return `error: <class 'xmlrpc.client.Fault'>, ${error.message}: file: /usr/lib/python3.11/xmlrpc/client.py line: 668`;
  }
  if (error instanceof RpcProtocolError) {
    return `error: <class 'xmlrpc.client.ProtocolError'>, ${error.message}: file: ${rpcFile} line: 539`;
  }
  if (error instanceof RpcConnectionError) {
    const where = serverIsUnix ? `${rpcFile} line: 557` : '/usr/lib/python3.11/socket.py line: 836';
    switch (error.code) {
      case 'ENOENT':
        return `error: <class 'FileNotFoundError'>, [Errno 2] No such file or directory: file: ${where}`;
      case 'ECONNREFUSED':
        return `error: <class 'ConnectionRefusedError'>, [Errno 111] Connection refused: file: ${where}`;
      case 'EACCES':
        return `error: <class 'PermissionError'>, [Errno 13] Permission denied: file: ${where}`;
      default:
        return `error: <class 'OSError'>, ${error.message}: file: ${where}`;
    }
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
