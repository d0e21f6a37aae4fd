// supervisorctl's actions. Output lines and exit codes follow Python supervisorctl 4.2.5 exactly
// (scripts and probes parse them), including its LSB exit codes and its quirks.
import { array, boolean, int, object, safeParse, string, tuple, type ZodMiniType } from 'zod/mini';
import { API_VERSION, makeNamespec, splitNamespec } from '../protocol.js';
import { FaultCode, ProcessState, STOPPED_STATES } from '../types.js';
import { HELP_TEXT, TOPICS_TABLE } from './help.js';
import type { CtlOptions } from './options.js';
import { openStream, parseServerUrl, RpcConnectionError, RpcFault, RpcProtocolError, XmlRpcClient } from './transport.js';

export const ExitStatus = {
  SUCCESS: 0,
  GENERIC: 1,
  INVALID_ARGS: 2,
  UNIMPLEMENTED_FEATURE: 3,
  INSUFFICIENT_PRIVILEGES: 4,
  NOT_INSTALLED: 5,
  NOT_RUNNING: 7,
} as const;

const StatusExit = { NOT_RUNNING: 3, UNKNOWN: 4 } as const;

const DEAD_PROGRAM_FAULTS = new Set<number>([FaultCode.SPAWN_ERROR, FaultCode.ABNORMAL_TERMINATION, FaultCode.NOT_RUNNING]);

// ---- reply schemas: every reply is parsed once, then used typed ----

// zod/mini with named imports: the client bundle stays small (full zod would add ~450 KB to parse at start).
const processInfo = object({
  name: string(),
  group: string(),
  state: int(),
  statename: string(),
  description: string(),
  pid: int(),
});
interface ProcessInfoReply {
  name: string;
  group: string;
  state: number;
  statename: string;
  description: string;
  pid: number;
}
const processInfoList = array(processInfo);
const resultStruct = object({ name: string(), group: string(), status: int(), description: string() });
interface ResultReply {
  name: string;
  group: string;
  status: number;
  description: string;
}
const resultList = array(resultStruct);
const configInfoList = array(
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
const reloadReply = array(tuple([stringList, stringList, stringList]));
const stringReply = string();
const intReply = int();

/** supervisord sent something that is not what the method returns. */
class UnexpectedReplyError extends Error {
  constructor(method: string, problem: string) {
    super(`unexpected reply to ${method}: ${problem}`);
    this.name = 'UnexpectedReplyError';
  }
}

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
function padRight(text: string, width: number): string {
  return text.length >= width ? text : text + ' '.repeat(width - text.length);
}

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

/** Stops the current action after its output was printed and the exit status set. */
class ActionDone extends Error {}

export class Controller {
  exitStatus: number = ExitStatus.SUCCESS;
  private client: XmlRpcClient;

  constructor(
    private readonly options: CtlOptions,
    readonly io: CtlIo,
  ) {
    this.client = new XmlRpcClient(parseServerUrl(options.serverurl), options);
  }

  private output(text: string): void {
    this.io.out(`${text}\n`);
  }

  private get isUnix(): boolean {
    return this.client.target.kind === 'unix';
  }

  private async rpc<T>(method: string, params: Array<string | number | boolean>, schema: ZodMiniType<T>): Promise<T> {
    const parsed = safeParse(schema, await this.client.call(method, params));
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      throw new UnexpectedReplyError(method, issue ? `${issue.path.join('.') || 'value'}: ${issue.message}` : 'invalid');
    }
    return parsed.data;
  }

  /** Runs one command line; returns true when the shell should end (quit/exit/EOF). */
  async onecmd(line: string): Promise<boolean> {
    const parsed = parseLine(line);
    if (parsed === null) return false;
    const { command, arg } = parsed;
    const action = command === '' ? undefined : this.actions()[command];
    if (action === undefined) {
      this.output(`*** Unknown syntax: ${line.trim()}`);
      this.exitStatus = ExitStatus.GENERIC;
      return false;
    }
    try {
      try {
        return (await action(arg)) === true;
      } catch (error) {
        if (!(error instanceof RpcProtocolError)) throw error;
        if (error.status !== 401) {
          this.exitStatus = ExitStatus.GENERIC;
          throw error;
        }
        this.output('Server requires authentication');
        if (this.options.interactive && this.io.ask !== null) {
          this.options.username = await this.io.ask('Username:');
          this.options.password = await this.io.ask('Password:');
          this.output('');
          this.client = new XmlRpcClient(this.client.target, this.options);
          return this.onecmd(line);
        }
        this.exitStatus = ExitStatus.GENERIC;
        // The real client runs the action a second time here and prints that failure too.
        await action(arg);
      }
    } catch (error) {
      if (error instanceof ActionDone) return false;
      this.output(pythonErrorLine(error, this.isUnix));
      this.exitStatus = ExitStatus.GENERIC;
    }
    return false;
  }

  private actions(): Record<string, (arg: string) => Promise<boolean | void>> {
    return {
      help: (arg) => this.help(arg),
      EOF: async () => {
        this.output('');
        return true;
      },
      quit: async () => {
        this.output('');
        return true;
      },
      exit: async () => {
        this.output('');
        return true;
      },
      status: (arg) => this.status(arg),
      start: (arg) => this.start(arg),
      stop: (arg) => this.stop(arg),
      restart: (arg) => this.restart(arg),
      signal: (arg) => this.signal(arg),
      pid: (arg) => this.pid(arg),
      tail: (arg) => this.tail(arg),
      maintail: (arg) => this.maintail(arg),
      clear: (arg) => this.clear(arg),
      avail: (arg) => this.avail(arg),
      reread: (arg) => this.reread(arg),
      update: (arg) => this.update(arg),
      add: (arg) => this.add(arg),
      remove: (arg) => this.remove(arg),
      shutdown: (arg) => this.shutdown(arg),
      reload: (arg) => this.reload(arg),
      version: (arg) => this.version(arg),
      open: (arg) => this.open(arg),
      fg: (arg) => this.fg(arg),
    };
  }

  private helpFor(topic: string): void {
    const text = HELP_TEXT[topic];
    if (text !== undefined) this.io.out(text);
  }

  private fail(status: number, ...lines: string[]): never {
    for (const line of lines) this.output(line);
    this.exitStatus = status;
    throw new ActionDone();
  }

  private setExitFromFault(code: number, ignored?: number): void {
    if (code === ignored || code === FaultCode.SUCCESS) return;
    this.exitStatus = DEAD_PROGRAM_FAULTS.has(code) ? ExitStatus.NOT_RUNNING : ExitStatus.GENERIC;
  }

  /** getVersion first, as the real client does, to tell "not running" from "not supervisord". */
  private async upcheck(): Promise<boolean> {
    try {
      const api = await this.rpc('supervisor.getVersion', [], stringReply);
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

  // ---- actions ----

  private async help(arg: string): Promise<void> {
    const topic = arg.trim();
    if (topic === '') {
      this.output('');
      this.io.out(TOPICS_TABLE);
      return;
    }
    if (HELP_TEXT[arg] !== undefined) this.helpFor(arg);
    else this.output(`*** No help on ${arg}`);
  }

  private async status(arg: string): Promise<void> {
    // The read-only listing is requested alongside the upcheck instead of after it: the same two
    // calls as the real client, one round trip less (status is what probes run, often).
    const listing = this.rpc('supervisor.getAllProcessInfo', [], processInfoList);
    listing.catch(() => undefined);
    if (!(await this.upcheck())) {
      this.exitStatus = StatusExit.UNKNOWN;
      return;
    }
    const all = await listing;
    const names = arg.split(/\s+/).filter((n) => n !== '');
    let matching: ProcessInfoReply[];
    if (names.length === 0 || names.includes('all')) {
      matching = all;
    } else {
      matching = [];
      for (const name of names) {
        const { group, process } = splitNamespec(name);
        const found = all.filter((info) => info.group === group && (process === null || info.name === process));
        matching.push(...found);
        if (found.length === 0) {
          this.output(process === null ? `${group}: ERROR (no such group)` : `${name}: ERROR (no such process)`);
          this.exitStatus = StatusExit.UNKNOWN;
        }
      }
    }
    this.showStatuses(matching);
    if (matching.some((info) => STOPPED_STATES.has(info.state))) this.exitStatus = StatusExit.NOT_RUNNING;
  }

  private showStatuses(infos: ProcessInfoReply[]): void {
    const specs = infos.map((info) => makeNamespec(info.group, info.name));
    const width = Math.max(30, ...specs.map((s) => s.length)) + 3;
    infos.forEach((info, i) => {
      this.output(`${padRight(specs[i] ?? '', width)}${padRight(info.statename, 10)}${info.description}`);
    });
  }

  private async pid(arg: string): Promise<void> {
    if (!(await this.upcheck())) return;
    const names = arg.split(/\s+/).filter((n) => n !== '');
    if (names.length === 0) {
      this.output(String(await this.rpc('supervisor.getPID', [], intReply)));
      return;
    }
    if (names.includes('all')) {
      for (const info of await this.rpc('supervisor.getAllProcessInfo', [], processInfoList)) this.output(String(info.pid));
      return;
    }
    for (const name of names) {
      try {
        const info = await this.rpc('supervisor.getProcessInfo', [name], processInfo);
        this.output(String(info.pid));
        if (info.pid === 0) this.exitStatus = ExitStatus.NOT_RUNNING;
      } catch (error) {
        if (!(error instanceof RpcFault)) throw error;
        this.exitStatus = ExitStatus.GENERIC;
        if (error.faultCode !== FaultCode.BAD_NAME) throw error;
        this.output(`No such process ${name}`);
      }
    }
  }

  private startResult(result: ResultReply): string {
    const name = makeNamespec(result.group, result.name);
    const messages: Record<number, string> = {
      [FaultCode.BAD_NAME]: 'no such process',
      [FaultCode.NO_FILE]: 'no such file',
      [FaultCode.NOT_EXECUTABLE]: 'file is not executable',
      [FaultCode.ALREADY_STARTED]: 'already started',
      [FaultCode.SPAWN_ERROR]: 'spawn error',
      [FaultCode.ABNORMAL_TERMINATION]: 'abnormal termination',
    };
    if (result.status === FaultCode.SUCCESS) return `${name}: started`;
    const message = messages[result.status];
    if (message === undefined) throw new Error(`Unknown result code ${result.status} for ${name}`);
    return `${name}: ERROR (${message})`;
  }

  private signalResult(result: ResultReply, success = 'signalled'): string {
    const name = makeNamespec(result.group, result.name);
    switch (result.status) {
      case FaultCode.BAD_NAME:
        return `${name}: ERROR (no such process)`;
      case FaultCode.BAD_SIGNAL:
        return `${name}: ERROR (bad signal name)`;
      case FaultCode.NOT_RUNNING:
        return `${name}: ERROR (not running)`;
      case FaultCode.SUCCESS:
        return `${name}: ${success}`;
      case FaultCode.FAILED:
        return result.description;
      default:
        throw new Error(`Unknown result code ${result.status} for ${name}`);
    }
  }

  /** A fault for one named process, shaped like a group result struct. */
  private faultResult(error: unknown, group: string, process: string | null): ResultReply {
    if (!(error instanceof RpcFault)) throw error;
    return { status: error.faultCode, name: process ?? 'None', group, description: error.faultString };
  }

  private async start(arg: string): Promise<void> {
    if (!(await this.upcheck())) return;
    const names = arg.split(/\s+/).filter((n) => n !== '');
    if (names.length === 0) {
      this.output('Error: start requires a process name');
      this.exitStatus = ExitStatus.INVALID_ARGS;
      this.helpFor('start');
      return;
    }
    await this.onProcesses(names, [], {
      verb: 'start',
      done: 'started',
      describe: (result) => this.startResult(result),
      harmlessFault: FaultCode.ALREADY_STARTED,
      noSuchGroupExit: ExitStatus.INVALID_ARGS,
    });
  }

  private async stop(arg: string): Promise<void> {
    if (!(await this.upcheck())) return;
    const names = arg.split(/\s+/).filter((n) => n !== '');
    if (names.length === 0) {
      this.output('Error: stop requires a process name');
      this.exitStatus = ExitStatus.GENERIC;
      this.helpFor('stop');
      return;
    }
    await this.onProcesses(names, [], {
      verb: 'stop',
      done: 'stopped',
      describe: (result) => this.signalResult(result, 'stopped'),
      harmlessFault: FaultCode.NOT_RUNNING,
      noSuchGroupExit: ExitStatus.GENERIC,
    });
  }

  /**
   * start/stop/signal on `all`, on `group:*` names and on single processes, through
   * supervisor.<verb>AllProcesses / <verb>ProcessGroup / <verb>Process, reporting each result
   * line as the real client does. `extra` follows the name in each call (the signal).
   */
  private async onProcesses(
    names: readonly string[],
    extra: string[],
    how: {
      verb: 'start' | 'stop' | 'signal';
      done: string;
      describe(result: ResultReply): string;
      /** A per-process fault that does not change the exit status (already started / not running). */
      harmlessFault?: number;
      noSuchGroupExit: number;
    },
  ): Promise<void> {
    const report = (results: ResultReply[]): void => {
      for (const result of results) {
        this.output(how.describe(result));
        this.setExitFromFault(result.status, how.harmlessFault);
      }
    };
    if (names.includes('all')) {
      report(await this.rpc(`supervisor.${how.verb}AllProcesses`, extra, resultList));
      return;
    }
    for (const name of names) {
      const { group, process } = splitNamespec(name);
      if (process === null) {
        try {
          report(await this.rpc(`supervisor.${how.verb}ProcessGroup`, [group, ...extra], resultList));
        } catch (error) {
          if (!(error instanceof RpcFault && error.faultCode === FaultCode.BAD_NAME)) throw error;
          this.output(`${group}: ERROR (no such group)`);
          this.exitStatus = how.noSuchGroupExit;
        }
        continue;
      }
      try {
        await this.client.call(`supervisor.${how.verb}Process`, [name, ...extra]);
        this.output(`${makeNamespec(group, process)}: ${how.done}`);
      } catch (error) {
        report([this.faultResult(error, group, process)]);
      }
    }
  }

  private async restart(arg: string): Promise<void> {
    if (!(await this.upcheck())) return;
    if (arg.trim() === '') {
      this.output('Error: restart requires a process name');
      this.exitStatus = ExitStatus.GENERIC;
      this.helpFor('restart');
      return;
    }
    await this.stop(arg);
    await this.start(arg);
  }

  private async signal(arg: string): Promise<void> {
    if (!(await this.upcheck())) return;
    const args = arg.split(/\s+/).filter((n) => n !== '');
    const [signal, ...names] = args;
    if (signal === undefined || names.length === 0) {
      this.output('Error: signal requires a signal name and a process name');
      this.helpFor('signal');
      this.exitStatus = ExitStatus.GENERIC;
      return;
    }
    await this.onProcesses(names, [signal], {
      verb: 'signal',
      done: 'signalled',
      describe: (result) => this.signalResult(result),
      noSuchGroupExit: ExitStatus.GENERIC,
    });
  }

  private async tail(arg: string): Promise<void> {
    if (!(await this.upcheck())) return;
    const args = arg.split(/\s+/).filter((n) => n !== '');
    if (args.length < 1) {
      this.output('Error: too few arguments');
      this.exitStatus = ExitStatus.GENERIC;
      this.helpFor('tail');
      return;
    }
    if (args.length > 3) {
      this.output('Error: too many arguments');
      this.exitStatus = ExitStatus.GENERIC;
      this.helpFor('tail');
      return;
    }
    const modifier = args[0]?.startsWith('-') ? args.shift() : undefined;
    let name: string;
    let channel = 'stdout';
    if (args.length === 1) {
      name = args[0] ?? '';
    } else if (args.length > 0) {
      name = args[0] ?? '';
      channel = (args[args.length - 1] ?? '').toLowerCase();
      if (channel !== 'stderr' && channel !== 'stdout') this.fail(ExitStatus.GENERIC, `Error: bad channel '${channel}'`);
    } else {
      this.fail(ExitStatus.GENERIC, 'Error: tail requires process name');
    }
    let bytes: number | 'follow' = 1600;
    if (modifier !== undefined) {
      const what = modifier.slice(1);
      if (what === 'f') bytes = 'follow';
      else if (/^\s*[+-]?\d+\s*$/.test(what)) bytes = Number(what);
      else this.fail(ExitStatus.GENERIC, `Error: bad argument ${modifier}`);
    }
    if (bytes === 'follow') {
      await this.follow(`/logtail/${name}/${channel}`);
      return;
    }
    try {
      const method = channel === 'stdout' ? 'supervisor.readProcessStdoutLog' : 'supervisor.readProcessStderrLog';
      this.output(await this.rpc(method, [name, -bytes, 0], stringReply));
    } catch (error) {
      if (!(error instanceof RpcFault)) throw error;
      this.exitStatus = ExitStatus.GENERIC;
      if (error.faultCode === FaultCode.NO_FILE) this.output(`${name}: ERROR (no log file)`);
      else if (error.faultCode === FaultCode.FAILED) this.output(`${name}: ERROR (unknown error reading log)`);
      else if (error.faultCode === FaultCode.BAD_NAME) this.output(`${name}: ERROR (no such process name)`);
      else throw error;
    }
  }

  private async maintail(arg: string): Promise<void> {
    if (!(await this.upcheck())) return;
    const args = arg.split(/\s+/).filter((n) => n !== '');
    let bytes = 1600;
    if (args.length > 1) {
      this.output('Error: too many arguments');
      this.exitStatus = ExitStatus.GENERIC;
      this.helpFor('maintail');
      return;
    }
    const first = args[0];
    if (first !== undefined) {
      if (!first.startsWith('-')) this.fail(ExitStatus.GENERIC, `Error: bad argument ${first}`);
      const what = first.slice(1);
      if (what === 'f') {
        await this.follow('/mainlogtail');
        return;
      }
      if (!/^\s*[+-]?\d+\s*$/.test(what)) this.fail(ExitStatus.GENERIC, `Error: bad argument ${first}`);
      bytes = Number(what);
    }
    try {
      this.output(await this.rpc('supervisor.readLog', [-bytes, 0], stringReply));
    } catch (error) {
      if (!(error instanceof RpcFault)) throw error;
      this.exitStatus = ExitStatus.GENERIC;
      if (error.faultCode === FaultCode.NO_FILE) this.output('supervisord: ERROR (no log file)');
      else if (error.faultCode === FaultCode.FAILED) this.output('supervisord: ERROR (unknown error reading log)');
      else throw error;
    }
  }

  /** `tail -f`: stream an HTTP log endpoint until the server closes it or the user presses Ctrl-C. */
  private async follow(path: string): Promise<void> {
    this.output('==> Press Ctrl-C to exit <==');
    const url = `${this.options.serverurl}${path}`;
    let stream: { close(): void } | undefined;
    const ended = new Promise<'ended'>((resolve) => {
      stream = openStream(this.client.target, path, this.options, {
        status: (code) => {
          if (code !== 200) this.io.err(`${url} Cannot read, status code ${code}\n`);
        },
        data: (chunk) => this.io.out(chunk.toString('utf8')),
        end: () => resolve('ended'),
        error: (error) => {
          this.io.err(`${url} Cannot connect, error: ${error.code} (${error.message})\n`);
          resolve('ended');
        },
      });
    });
    const outcome = await Promise.race([ended, this.io.interrupted().then(() => 'interrupted' as const)]);
    stream?.close();
    if (outcome === 'interrupted') this.output('');
  }

  private clearResult(result: ResultReply): string {
    const name = makeNamespec(result.group, result.name);
    if (result.status === FaultCode.BAD_NAME) return `${name}: ERROR (no such process)`;
    if (result.status === FaultCode.FAILED) return `${name}: ERROR (failed)`;
    if (result.status === FaultCode.SUCCESS) return `${name}: cleared`;
    throw new Error(`Unknown result code ${result.status} for ${name}`);
  }

  private async clear(arg: string): Promise<void> {
    if (!(await this.upcheck())) return;
    const names = arg.split(/\s+/).filter((n) => n !== '');
    if (names.length === 0) {
      this.output('Error: clear requires a process name');
      this.exitStatus = ExitStatus.GENERIC;
      this.helpFor('clear');
      return;
    }
    const report = (results: ResultReply[]): void => {
      for (const result of results) {
        this.output(this.clearResult(result));
        this.setExitFromFault(result.status);
      }
    };
    if (names.includes('all')) {
      report(await this.rpc('supervisor.clearAllProcessLogs', [], resultList));
      return;
    }
    for (const name of names) {
      const { group, process } = splitNamespec(name);
      try {
        await this.client.call('supervisor.clearProcessLogs', [name]);
        this.output(`${process === null ? group : makeNamespec(group, process)}: cleared`);
      } catch (error) {
        report([this.faultResult(error, group, process)]);
      }
    }
  }

  private noArguments(command: string, arg: string): void {
    if (arg.trim() !== '') {
      this.output(`Error: ${command} accepts no arguments`);
      this.exitStatus = ExitStatus.GENERIC;
      this.helpFor(command);
      throw new ActionDone();
    }
  }

  private async avail(arg: string): Promise<void> {
    this.noArguments('avail', arg);
    try {
      const infos = await this.rpc('supervisor.getAllConfigInfo', [], configInfoList);
      for (const info of infos) {
        const name = padRight(makeNamespec(info.group, info.name), 32);
        const inuse = padRight(info.inuse ? 'in use' : 'avail', 9);
        const autostart = padRight(info.autostart ? 'auto' : 'manual', 9);
        this.output(`${name} ${inuse} ${autostart} ${info.group_prio}:${info.process_prio}`);
      }
    } catch (error) {
      this.shuttingDownOr(error, 'ERROR: supervisor shutting down');
    }
  }

  /** SHUTDOWN_STATE prints `message` (GENERIC); anything else propagates. */
  private shuttingDownOr(error: unknown, message: string): void {
    if (error instanceof RpcFault) {
      this.exitStatus = ExitStatus.GENERIC;
      if (error.faultCode === FaultCode.SHUTDOWN_STATE) {
        this.output(message);
        return;
      }
    }
    throw error;
  }

  private async reread(arg: string): Promise<void> {
    this.noArguments('reread', arg);
    let result;
    try {
      result = await this.rpc('supervisor.reloadConfig', [], reloadReply);
    } catch (error) {
      if (error instanceof RpcFault && error.faultCode === FaultCode.CANT_REREAD) {
        this.exitStatus = ExitStatus.GENERIC;
        this.output(`ERROR: ${error.faultString}`);
        return;
      }
      this.shuttingDownOr(error, 'ERROR: supervisor shutting down');
      return;
    }
    const [added, changed, removed] = result[0] ?? [[], [], []];
    const changes = new Map<string, string>();
    for (const name of added) changes.set(name, 'available');
    for (const name of changed) changes.set(name, 'changed');
    for (const name of removed) changes.set(name, 'disappeared');
    if (changes.size === 0) {
      this.output('No config updates to processes');
      return;
    }
    for (const name of [...changes.keys()].sort()) this.output(`${name}: ${changes.get(name) ?? ''}`);
  }

  private async update(arg: string): Promise<void> {
    let result;
    try {
      result = await this.rpc('supervisor.reloadConfig', [], reloadReply);
    } catch (error) {
      if (error instanceof RpcFault && error.faultCode === FaultCode.SHUTDOWN_STATE) {
        this.exitStatus = ExitStatus.GENERIC;
        this.output('ERROR: already shutting down');
        return;
      }
      this.exitStatus = ExitStatus.GENERIC;
      throw error;
    }
    const [added, changed, removed] = result[0] ?? [[], [], []];
    let wanted = new Set(arg.split(/\s+/).filter((n) => n !== ''));
    if (wanted.has('all')) wanted = new Set();
    if (wanted.size > 0) {
      const groups = new Set((await this.rpc('supervisor.getAllProcessInfo', [], processInfoList)).map((info) => info.group));
      for (const name of added) groups.add(name);
      // Python iterates a set here; sorted keeps our output stable.
      for (const name of [...wanted].sort()) {
        if (!groups.has(name)) {
          this.output(`ERROR: no such group: ${name}`);
          this.exitStatus = ExitStatus.GENERIC;
        }
      }
    }
    const selected = (name: string): boolean => wanted.size === 0 || wanted.has(name);
    for (const name of removed.filter(selected)) {
      const results = await this.rpc('supervisor.stopProcessGroup', [name], resultList);
      this.output(`${name}: stopped`);
      if (results.some((r) => r.status === FaultCode.FAILED)) {
        this.output(`${name}: has problems; not removing`);
        this.exitStatus = ExitStatus.GENERIC;
        continue;
      }
      await this.client.call('supervisor.removeProcessGroup', [name]);
      this.output(`${name}: removed process group`);
    }
    for (const name of changed.filter(selected)) {
      await this.rpc('supervisor.stopProcessGroup', [name], resultList);
      this.output(`${name}: stopped`);
      await this.client.call('supervisor.removeProcessGroup', [name]);
      await this.client.call('supervisor.addProcessGroup', [name]);
      this.output(`${name}: updated process group`);
    }
    for (const name of added.filter(selected)) {
      await this.client.call('supervisor.addProcessGroup', [name]);
      this.output(`${name}: added process group`);
    }
  }

  private async add(arg: string): Promise<void> {
    for (const name of arg.split(/\s+/).filter((n) => n !== '')) {
      try {
        await this.client.call('supervisor.addProcessGroup', [name]);
        this.output(`${name}: added process group`);
      } catch (error) {
        if (!(error instanceof RpcFault)) throw error;
        if (error.faultCode === FaultCode.SHUTDOWN_STATE) {
          this.output('ERROR: shutting down');
          this.exitStatus = ExitStatus.GENERIC;
        } else if (error.faultCode === FaultCode.ALREADY_ADDED) {
          this.output('ERROR: process group already active');
        } else if (error.faultCode === FaultCode.BAD_NAME) {
          this.output(`ERROR: no such process/group: ${name}`);
          this.exitStatus = ExitStatus.GENERIC;
        } else {
          this.exitStatus = ExitStatus.GENERIC;
          throw error;
        }
      }
    }
  }

  private async remove(arg: string): Promise<void> {
    for (const name of arg.split(/\s+/).filter((n) => n !== '')) {
      try {
        await this.client.call('supervisor.removeProcessGroup', [name]);
        this.output(`${name}: removed process group`);
      } catch (error) {
        if (!(error instanceof RpcFault)) throw error;
        this.exitStatus = ExitStatus.GENERIC;
        if (error.faultCode === FaultCode.STILL_RUNNING) this.output(`ERROR: process/group still running: ${name}`);
        else if (error.faultCode === FaultCode.BAD_NAME) this.output(`ERROR: no such process/group: ${name}`);
        else throw error;
      }
    }
  }

  private async confirm(question: string): Promise<boolean> {
    if (!this.options.interactive || this.io.ask === null) return true;
    return (await this.io.ask(question)).toLowerCase().startsWith('y');
  }

  private async shutdown(arg: string): Promise<void> {
    if (arg !== '') {
      this.output('Error: shutdown accepts no arguments');
      this.exitStatus = ExitStatus.GENERIC;
      this.helpFor('shutdown');
      return;
    }
    if (!(await this.confirm('Really shut the remote supervisord process down y/N? '))) return;
    try {
      await this.client.call('supervisor.shutdown', []);
      this.output('Shut down');
    } catch (error) {
      if (error instanceof RpcFault) {
        if (error.faultCode === FaultCode.SHUTDOWN_STATE) {
          this.output('ERROR: already shutting down');
          return;
        }
        this.exitStatus = ExitStatus.GENERIC;
        throw error;
      }
      if (error instanceof RpcConnectionError && (error.code === 'ECONNREFUSED' || error.code === 'ENOENT')) {
        this.exitStatus = ExitStatus.GENERIC;
        const what = error.code === 'ECONNREFUSED' ? 'refused connection' : 'no such file';
        this.output(`ERROR: ${this.options.serverurl} ${what} (already shut down?)`);
        return;
      }
      if (error instanceof RpcConnectionError) this.exitStatus = ExitStatus.GENERIC;
      throw error;
    }
  }

  private async reload(arg: string): Promise<void> {
    if (arg !== '') {
      this.output('Error: reload accepts no arguments');
      this.exitStatus = ExitStatus.GENERIC;
      this.helpFor('reload');
      return;
    }
    if (!(await this.confirm('Really restart the remote supervisord process y/N? '))) return;
    try {
      await this.client.call('supervisor.restart', []);
      this.output('Restarted supervisord');
    } catch (error) {
      if (error instanceof RpcFault) {
        this.exitStatus = ExitStatus.GENERIC;
        if (error.faultCode === FaultCode.SHUTDOWN_STATE) {
          this.output('ERROR: already shutting down');
          return;
        }
      }
      throw error;
    }
  }

  private async version(arg: string): Promise<void> {
    this.noArguments('version', arg);
    if (!(await this.upcheck())) return;
    this.output(await this.rpc('supervisor.getSupervisorVersion', [], stringReply));
  }

  private async open(arg: string): Promise<void> {
    const url = arg.trim();
    if (!/^(unix|http):/.test(url)) {
      this.output('ERROR: url must be http:// or unix://');
      this.exitStatus = ExitStatus.GENERIC;
      return;
    }
    this.options.serverurl = url;
    this.client = new XmlRpcClient(parseServerUrl(url), this.options);
    const before = this.exitStatus;
    await this.status('');
    this.exitStatus = before;
  }

  private async fg(arg: string): Promise<void> {
    if (!(await this.upcheck())) return;
    const names = arg.split(/\s+/).filter((n) => n !== '');
    if (names.length === 0) {
      this.output('ERROR: no process name supplied');
      this.exitStatus = ExitStatus.GENERIC;
      this.helpFor('fg');
      return;
    }
    if (names.length > 1) this.fail(ExitStatus.GENERIC, 'ERROR: too many process names supplied');
    const name = names[0] ?? '';
    let info;
    try {
      info = await this.rpc('supervisor.getProcessInfo', [name], processInfo);
    } catch (error) {
      if (!(error instanceof RpcFault)) throw error;
      if (error.faultCode === FaultCode.BAD_NAME) this.fail(ExitStatus.GENERIC, 'ERROR: bad process name supplied');
      this.output(`ERROR: ${error.message}`);
      return;
    }
    if (info.state !== ProcessState.RUNNING) this.fail(ExitStatus.GENERIC, 'ERROR: process not running');
    this.output('==> Press Ctrl-C to exit <==');
    // The process's stdout and stderr stream to us; each line typed goes to its stdin.
    const streams = (['stdout', 'stderr'] as const).map((channel) => {
      const path = `/logtail/${name}/${channel}`;
      return openStream(this.client.target, path, this.options, {
        status: (code) => {
          if (code !== 200) this.io.err(`${this.options.serverurl}${path} Cannot read, status code ${code}\n`);
        },
        data: (chunk) => this.io.out(chunk.toString('utf8')),
        end: () => undefined,
        error: () => undefined,
      });
    });
    const interrupted = this.io.interrupted().then(() => null);
    try {
      for (;;) {
        const line = await Promise.race([this.io.readLine(), interrupted]);
        if (line === null) {
          this.output('Exiting foreground');
          return;
        }
        try {
          await this.client.call('supervisor.sendProcessStdin', [name, `${line}\n`]);
        } catch (error) {
          if (!(error instanceof RpcFault)) throw error;
          this.output(error.faultCode === FaultCode.NOT_RUNNING ? 'Process got killed' : `ERROR: ${error.message}`);
          this.output('Exiting foreground');
          return;
        }
        const now = await this.rpc('supervisor.getProcessInfo', [name], processInfo);
        if (now.state !== ProcessState.RUNNING) {
          this.output('Process got killed');
          this.output('Exiting foreground');
          return;
        }
      }
    } finally {
      for (const stream of streams) stream.close();
    }
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
