// The `supervisor.*` and `system.*` namespaces: each method's parameters go through a zod tuple once,
// then the typed handler runs against SupervisorControl. Group and "all" operations are composed here
// from the per-process ones, in supervisord's order, returning its result structs.
import { constants as osConstants } from 'node:os';
import { z } from 'zod';
import {
  FaultCode,
  ProcessState,
  RUNNING_STATES,
  SIGNALLABLE_STATES,
  SUPERVISOR_VERSION,
  SupervisorFault,
  SupervisordState,
  type LogTarget,
  type ProcessInfo,
  type SupervisorControl,
} from '../types.js';
import { fileExists, readLogRange, tailLogRange } from './log-files.js';
import { processInfoStruct } from './process-info.js';
import type { XmlRpcValue } from './xmlrpc.js';
import { API_VERSION, makeNamespec, splitNamespec } from '../protocol.js';

export { API_VERSION } from '../protocol.js';

type WireType = 'string' | 'int' | 'boolean' | 'array' | 'struct';

/** One positional parameter: its XML-RPC type and name (for system.methodSignature/methodHelp) and its schema. */
interface Param<T> {
  type: WireType;
  name: string;
  schema: z.ZodType<T, unknown>;
}

type ParamValues<P extends readonly Param<unknown>[]> = { [K in keyof P]: P[K] extends Param<infer T> ? T : never };

interface MethodDefinition {
  help: string;
  returns: WireType;
  params: readonly Param<unknown>[];
  schema: z.ZodType<unknown[], unknown>;
  /** False for system.*: supervisord answers those during shutdown too. */
  guarded: boolean;
  run(args: never): Promise<XmlRpcValue> | XmlRpcValue;
}

const param = <T>(type: WireType, paramName: string, schema: z.ZodType<T, unknown>): Param<T> => ({ type, name: paramName, schema });
const nameParam = param('string', 'name', z.string());
const offsetParam = param('int', 'offset', z.number().int());
const lengthParam = param('int', 'length', z.number().int());
// Python takes any truthy value for wait; XML-RPC clients send <boolean> or <int>. Omitted means wait.
const waitParam = param('boolean', 'wait', z.union([z.boolean(), z.number().int()]).transform((v) => Boolean(v)).default(true));
const signalParam = param('string', 'signal', z.union([z.string(), z.number().int().transform(String)]));

function define<const P extends readonly Param<unknown>[]>(definition: {
  help: string;
  returns: WireType;
  params: P;
  guarded?: boolean;
  run: (args: ParamValues<P>) => Promise<XmlRpcValue> | XmlRpcValue;
}): MethodDefinition {
  const schemas = definition.params.map((p) => p.schema) as [z.ZodType];
  return {
    guarded: true,
    ...definition,
    schema: z.tuple(schemas),
    run: definition.run,
  };
}

interface ResolvedName {
  group: string;
  /** null for `group:*` / `group:` */
  process: ProcessInfo | null;
}

function namespec(info: { group: string; name: string }): string {
  return makeNamespec(info.group, info.name);
}

function isFault(error: unknown): error is SupervisorFault {
  return error instanceof SupervisorFault;
}

/** A fault passes through; anything else thrown by the control becomes the fault `otherwise` builds. */
function asFault(error: unknown, otherwise: (message: string) => SupervisorFault): SupervisorFault {
  return isFault(error) ? error : otherwise(error instanceof Error ? error.message : String(error));
}

const compareStrings = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

/** An operation on one named process (or `group:*`); group and "all" calls apply it to every eligible member. */
interface ProcessOperation<A> {
  /** Members a group/all call acts on; the others are left out of its result. */
  eligible(process: ProcessInfo): boolean;
  one(spec: string, arg: A): Promise<XmlRpcValue>;
}

interface ResultStruct {
  [key: string]: XmlRpcValue;
  name: string;
  group: string;
  status: number;
  description: string;
}

/** Signal name or number → name without SIG (`HUP`), or undefined when unknown. */
export function parseSignal(signal: string): string | undefined {
  const signals = osConstants.signals as Record<string, number>;
  const trimmed = signal.trim();
  if (/^\d+$/.test(trimmed)) {
    const number = Number(trimmed);
    const found = Object.entries(signals).find(([, value]) => value === number);
    return found ? found[0].replace(/^SIG/, '') : undefined;
  }
  const upper = trimmed.toUpperCase();
  const full = upper.startsWith('SIG') ? upper : `SIG${upper}`;
  return signals[full] !== undefined ? full.slice(3) : undefined;
}

function logPath(target: LogTarget): string {
  if (target.kind === 'file') return target.path;
  if (target.kind === 'inherit') return target.fd === 1 ? '/dev/stdout' : '/dev/stderr';
  return 'none';
}

export class SupervisorRpc {
  readonly methods: ReadonlyMap<string, MethodDefinition>;

  /**
   * @param supervisorNamespace false without `[rpcinterface:supervisor]`: then only system.* exists,
   *   and supervisorctl says so (as with supervisord).
   */
  constructor(
    private readonly control: SupervisorControl,
    supervisorNamespace = true,
  ) {
    this.methods = new Map(
      Object.entries(this.buildMethods())
        .filter(([methodName]) => supervisorNamespace || methodName.startsWith('system.'))
        .sort(([a], [b]) => compareStrings(a, b)),
    );
  }

  /** Runs one call; every failure comes back as a SupervisorFault (the HTTP layer turns others into 500). */
  async call(methodName: string, params: XmlRpcValue[]): Promise<XmlRpcValue> {
    const parts = methodName.split('.');
    // Only `namespace.method` (supervisord's CVE-2017-11610 rule); no private names.
    const method = parts.length === 2 && !(parts[1] ?? '').startsWith('_') ? this.methods.get(methodName) : undefined;
    if (method === undefined) throw new SupervisorFault(FaultCode.UNKNOWN_METHOD);
    const parsed = method.schema.safeParse(params);
    if (!parsed.success) {
      throw new SupervisorFault(FaultCode.INCORRECT_PARAMETERS, describeParamError(methodName, method, parsed.error));
    }
    if (method.guarded) this.ensureRunning();
    return method.run(parsed.data as never);
  }

  private ensureRunning(): void {
    const state = this.control.state();
    if (state === SupervisordState.SHUTDOWN || state === SupervisordState.RESTARTING) {
      throw new SupervisorFault(FaultCode.SHUTDOWN_STATE);
    }
  }

  // ---- name resolution and ordering ----

  private resolve(spec: string): ResolvedName {
    const { group: groupName, process: processName } = splitNamespec(spec);
    const members = this.control.processes().filter((p) => p.group === groupName);
    if (members.length === 0) throw new SupervisorFault(FaultCode.BAD_NAME, spec);
    if (processName === null) return { group: groupName, process: null };
    const process = members.find((p) => p.name === processName);
    if (process === undefined) throw new SupervisorFault(FaultCode.BAD_NAME, spec);
    return { group: groupName, process };
  }

  private resolveProcess(spec: string): ProcessInfo {
    const { process } = this.resolve(spec);
    if (process === null) throw new SupervisorFault(FaultCode.BAD_NAME, spec);
    return process;
  }

  /**
   * Groups in the control's (priority) order, processes by priority within each group. The
   * priorities are the running processes' own, not those of a re-read file that is not in effect.
   */
  private inPriorityOrder(processes: ProcessInfo[]): ProcessInfo[] {
    const groupOrder: string[] = [];
    for (const p of processes) if (!groupOrder.includes(p.group)) groupOrder.push(p.group);
    return groupOrder.flatMap((group) =>
      processes.filter((p) => p.group === group).sort((a, b) => a.priority - b.priority || compareStrings(a.name, b.name)),
    );
  }

  private groupProcesses(group: string): ProcessInfo[] {
    const members = this.control.processes().filter((p) => p.group === group);
    if (members.length === 0) throw new SupervisorFault(FaultCode.BAD_NAME, group);
    return this.inPriorityOrder(members);
  }

  private allProcesses(): ProcessInfo[] {
    return this.inPriorityOrder(this.control.processes());
  }

  /** The operation is started on every eligible process at once, then all are awaited (supervisord's make_allfunc). */
  private async onEach<A>(processes: ProcessInfo[], operation: ProcessOperation<A>, arg: A): Promise<ResultStruct[]> {
    const pending = processes.filter((p) => operation.eligible(p)).map(async (p): Promise<ResultStruct> => {
      try {
        await operation.one(namespec(p), arg);
        return { name: p.name, group: p.group, status: FaultCode.SUCCESS, description: 'OK' };
      } catch (error) {
        if (!isFault(error)) throw error;
        return { name: p.name, group: p.group, status: error.code, description: error.message };
      }
    });
    return Promise.all(pending);
  }

  private onGroup<A>(operation: ProcessOperation<A>, group: string, arg: A): Promise<ResultStruct[]> {
    return this.onEach(this.groupProcesses(group), operation, arg);
  }

  // ---- per-process operations (the RPC-level checks supervisord makes before acting) ----

  private readonly starting: ProcessOperation<boolean> = {
    eligible: (p) => !RUNNING_STATES.has(p.state),
    one: async (spec, wait) => {
      const { group, process } = this.resolve(spec);
      if (process === null) return this.onGroup(this.starting, group, wait);
      if (RUNNING_STATES.has(process.state)) throw new SupervisorFault(FaultCode.ALREADY_STARTED, spec);
      if (process.state === ProcessState.UNKNOWN) {
        throw new SupervisorFault(FaultCode.FAILED, `${spec} is in an unknown process state`);
      }
      await this.control.startProcess(namespec(process), wait);
      return true;
    },
  };

  private readonly stopping: ProcessOperation<boolean> = {
    eligible: (p) => RUNNING_STATES.has(p.state),
    one: async (spec, wait) => {
      const { group, process } = this.resolve(spec);
      if (process === null) return this.onGroup(this.stopping, group, wait);
      if (!RUNNING_STATES.has(process.state)) throw new SupervisorFault(FaultCode.NOT_RUNNING, spec);
      await this.control.stopProcess(namespec(process), wait);
      return true;
    },
  };

  private readonly signalling: ProcessOperation<string> = {
    eligible: (p) => SIGNALLABLE_STATES.has(p.state),
    one: async (spec, signal) => {
      const { group, process } = this.resolve(spec);
      if (process === null) return this.onGroup(this.signalling, group, signal);
      const parsed = parseSignal(signal);
      if (parsed === undefined) throw new SupervisorFault(FaultCode.BAD_SIGNAL, signal);
      if (!SIGNALLABLE_STATES.has(process.state)) throw new SupervisorFault(FaultCode.NOT_RUNNING, spec);
      try {
        this.control.signalProcess(namespec(process), parsed);
      } catch (error) {
        throw asFault(error, (message) => new SupervisorFault(FaultCode.FAILED, message));
      }
      return true;
    },
  };

  private readonly clearing: ProcessOperation<void> = {
    eligible: () => true,
    one: async (spec) => {
      const process = this.resolveProcess(spec);
      try {
        await this.control.clearProcessLogs(namespec(process));
      } catch (error) {
        throw asFault(error, () => new SupervisorFault(FaultCode.FAILED, spec));
      }
      return true;
    },
  };

  /**
   * `verbProcess`, `verbProcessGroup` and `verbAllProcesses`: one operation on a process, on a group
   * and on every process, all taking the same extra parameter.
   */
  private operationMethods<A>(
    verb: string,
    operation: ProcessOperation<A>,
    extra: Param<A>,
    help: { process: string; group: string; all: string },
  ): Record<string, MethodDefinition> {
    return {
      [`supervisor.${verb}Process`]: define({
        help: help.process,
        returns: 'boolean',
        params: [nameParam, extra],
        run: ([spec, arg]) => operation.one(spec, arg),
      }),
      [`supervisor.${verb}ProcessGroup`]: define({
        help: help.group,
        returns: 'array',
        params: [nameParam, extra],
        run: ([group, arg]) => this.onGroup(operation, group, arg),
      }),
      [`supervisor.${verb}AllProcesses`]: define({
        help: help.all,
        returns: 'array',
        params: [extra],
        run: ([arg]) => this.onEach(this.allProcesses(), operation, arg),
      }),
    };
  }

  private logFile(spec: string, channel: 'stdout' | 'stderr'): string {
    const process = this.resolveProcess(spec);
    return channel === 'stdout' ? process.stdoutLogfile : process.stderrLogfile;
  }

  private async readProcessLog(spec: string, offset: number, length: number, channel: 'stdout' | 'stderr'): Promise<string> {
    const path = this.logFile(spec, channel);
    if (path === '' || !(await fileExists(path))) throw new SupervisorFault(FaultCode.NO_FILE, path === '' ? 'None' : path);
    return readLogRange(path, offset, length);
  }

  private async tailProcessLog(spec: string, offset: number, length: number, channel: 'stdout' | 'stderr'): Promise<XmlRpcValue> {
    const path = this.logFile(spec, channel);
    if (path === '' || !(await fileExists(path))) return ['', 0, false];
    return tailLogRange(path, offset, length);
  }

  /** supervisor.readProcessStdoutLog / tailProcessStderrLog and the like, per channel. */
  private processLogMethods(channel: 'stdout' | 'stderr'): Record<string, MethodDefinition> {
    const Channel = channel === 'stdout' ? 'Stdout' : 'Stderr';
    return {
      [`supervisor.readProcess${Channel}Log`]: define({
        help: `Read length bytes from name's ${channel} log starting at offset.`,
        returns: 'string',
        params: [nameParam, offsetParam, lengthParam],
        run: ([spec, offset, length]) => this.readProcessLog(spec, offset, length, channel),
      }),
      [`supervisor.tailProcess${Channel}Log`]: define({
        help: `Tail name's ${channel} log: [bytes, offset, overflow].`,
        returns: 'array',
        params: [nameParam, offsetParam, lengthParam],
        run: ([spec, offset, length]) => this.tailProcessLog(spec, offset, length, channel),
      }),
    };
  }

  private configInfo(): XmlRpcValue[] {
    const active = new Set(this.control.processes().map((p) => p.group));
    const signals = osConstants.signals as Record<string, number>;
    const rows = this.control.config().groups.flatMap((group) =>
      group.processes.map((p) => ({
        autostart: p.autostart,
        directory: p.directory ?? 'none',
        uid: p.user ?? 'none',
        command: p.command,
        exitcodes: p.exitcodes,
        group: group.name,
        group_prio: group.priority,
        inuse: active.has(group.name),
        killasgroup: p.killasgroup,
        name: p.name,
        process_prio: p.priority,
        redirect_stderr: p.redirectStderr,
        startretries: p.startretries,
        startsecs: p.startsecs,
        stdout_capture_maxbytes: p.stdoutCaptureMaxBytes ?? 0,
        stdout_events_enabled: p.stdoutEventsEnabled ?? false,
        stdout_logfile: logPath(p.stdout),
        stdout_logfile_backups: p.stdout.kind === 'file' ? p.stdout.backups : 0,
        stdout_logfile_maxbytes: p.stdout.kind === 'file' ? p.stdout.maxBytes : 0,
        stdout_syslog: false,
        stopsignal: signals[`SIG${p.stopsignal}`] ?? 15,
        stopwaitsecs: p.stopwaitsecs,
        stderr_capture_maxbytes: p.stderrCaptureMaxBytes ?? 0,
        stderr_events_enabled: p.stderrEventsEnabled ?? false,
        stderr_logfile: logPath(p.stderr),
        stderr_logfile_backups: p.stderr.kind === 'file' ? p.stderr.backups : 0,
        stderr_logfile_maxbytes: p.stderr.kind === 'file' ? p.stderr.maxBytes : 0,
        stderr_syslog: false,
        serverurl: p.serverurl === 'AUTO' ? 'auto' : p.serverurl,
      })),
    );
    return rows.sort((a, b) => compareStrings(a.name, b.name));
  }

  private buildMethods(): Record<string, MethodDefinition> {
    const control = this.control;
    const version = define({
      help: 'Return the version of the RPC API used by supervisord.',
      returns: 'string',
      params: [],
      run: () => API_VERSION,
    });
    const readLog = define({
      help: 'Read length bytes from the main log starting at offset.',
      returns: 'string',
      params: [offsetParam, lengthParam],
      run: async ([offset, length]) => {
        const path = control.mainLogfile();
        if (path === null || !(await fileExists(path))) throw new SupervisorFault(FaultCode.NO_FILE, path ?? 'None');
        return readLogRange(path, offset, length);
      },
    });
    const clearProcessLogs = define({
      help: 'Clear the stdout and stderr logs for the named process and reopen them.',
      returns: 'boolean',
      params: [nameParam],
      run: ([spec]) => this.clearing.one(spec),
    });
    const stdoutLogs = this.processLogMethods('stdout');
    const lookUpMethod = (method: string): MethodDefinition => {
      const found = this.methods.get(method);
      if (found === undefined) throw new SupervisorFault(FaultCode.SIGNATURE_UNSUPPORTED);
      return found;
    };

    return {
      'supervisor.getAPIVersion': version,
      'supervisor.getVersion': version,
      'supervisor.getSupervisorVersion': define({
        help: 'Return the version of the supervisor package in use by supervisord.',
        returns: 'string',
        params: [],
        run: () => SUPERVISOR_VERSION,
      }),
      'supervisor.getIdentification': define({
        help: 'Return the identifying string of supervisord.',
        returns: 'string',
        params: [],
        run: () => control.identification,
      }),
      'supervisor.getState': define({
        help: 'Return the current state of supervisord as a struct {statecode, statename}.',
        returns: 'struct',
        params: [],
        run: () => {
          const state = control.state();
          return { statecode: state, statename: SupervisordState[state] ?? 'UNKNOWN' };
        },
      }),
      'supervisor.getPID': define({
        help: 'Return the PID of supervisord.',
        returns: 'int',
        params: [],
        run: () => control.pid,
      }),
      'supervisor.readLog': readLog,
      'supervisor.readMainLog': readLog,
      'supervisor.clearLog': define({
        help: 'Clear the main log.',
        returns: 'boolean',
        params: [],
        run: async () => {
          const path = control.mainLogfile();
          if (path === null || !(await fileExists(path))) throw new SupervisorFault(FaultCode.NO_FILE);
          try {
            await control.clearMainLog();
          } catch (error) {
            throw asFault(error, () => new SupervisorFault(FaultCode.FAILED));
          }
          return true;
        },
      }),
      'supervisor.shutdown': define({
        help: 'Shut down the supervisor process.',
        returns: 'boolean',
        params: [],
        run: () => {
          control.shutdown();
          return true;
        },
      }),
      'supervisor.restart': define({
        help: 'Restart the supervisor process.',
        returns: 'boolean',
        params: [],
        run: () => {
          control.restart();
          return true;
        },
      }),
      'supervisor.reloadConfig': define({
        help: 'Re-read the configuration: [[added, changed, removed]] group names.',
        returns: 'array',
        params: [],
        run: async () => {
          const result = await control.reloadConfig();
          return [[result.added, result.changed, result.removed]];
        },
      }),
      'supervisor.addProcessGroup': define({
        help: 'Start managing a process group from the re-read configuration.',
        returns: 'boolean',
        params: [nameParam],
        run: async ([group]) => {
          await control.addProcessGroup(group);
          return true;
        },
      }),
      'supervisor.removeProcessGroup': define({
        help: 'Remove a stopped process group from the active configuration.',
        returns: 'boolean',
        params: [nameParam],
        run: async ([group]) => {
          if (!control.processes().some((p) => p.group === group)) throw new SupervisorFault(FaultCode.BAD_NAME, group);
          await control.removeProcessGroup(group);
          return true;
        },
      }),
      ...this.operationMethods('start', this.starting, waitParam, {
        process: 'Start a process (name, group:name or group:*); wait for it to be fully started.',
        group: "Start all processes in the group named 'name'.",
        all: 'Start all processes listed in the configuration file.',
      }),
      ...this.operationMethods('stop', this.stopping, waitParam, {
        process: 'Stop a process (name, group:name or group:*); wait for it to be fully stopped.',
        group: "Stop all processes in the process group named 'name'.",
        all: 'Stop all processes in the process list.',
      }),
      ...this.operationMethods('signal', this.signalling, signalParam, {
        process: 'Send a UNIX signal (name like HUP or number like 1) to the named process.',
        group: "Send a signal to all processes in the group named 'name'.",
        all: 'Send a signal to all processes in the process list.',
      }),
      'supervisor.getAllConfigInfo': define({
        help: 'Get info about all available process configurations, one struct per process.',
        returns: 'array',
        params: [],
        run: () => this.configInfo(),
      }),
      'supervisor.getProcessInfo': define({
        help: 'Get info about a process named name (or group:name).',
        returns: 'struct',
        params: [nameParam],
        run: ([spec]) => processInfoStruct(this.resolveProcess(spec)),
      }),
      'supervisor.getAllProcessInfo': define({
        help: 'Get info about all processes.',
        returns: 'array',
        params: [],
        run: () =>
          [...control.processes()]
            .sort((a, b) => compareStrings(a.group, b.group) || compareStrings(a.name, b.name))
            .map(processInfoStruct),
      }),
      ...stdoutLogs,
      ...this.processLogMethods('stderr'),
      'supervisor.readProcessLog': stdoutLogs['supervisor.readProcessStdoutLog']!,
      'supervisor.tailProcessLog': stdoutLogs['supervisor.tailProcessStdoutLog']!,
      'supervisor.clearProcessLogs': clearProcessLogs,
      'supervisor.clearProcessLog': clearProcessLogs,
      'supervisor.clearAllProcessLogs': define({
        help: 'Clear all process log files.',
        returns: 'array',
        params: [],
        run: () => this.onEach(this.allProcesses(), this.clearing, undefined),
      }),
      'supervisor.sendProcessStdin': define({
        help: 'Send a string of chars to the stdin of the process name.',
        returns: 'boolean',
        params: [nameParam, param('string', 'chars', z.string())],
        run: ([spec, chars]) => {
          const process = this.resolveProcess(spec);
          if (process.pid === 0 || process.state === ProcessState.STOPPING) throw new SupervisorFault(FaultCode.NOT_RUNNING, spec);
          control.sendProcessStdin(namespec(process), chars);
          return true;
        },
      }),
      'supervisor.sendRemoteCommEvent': define({
        help: 'Send an event that will be received by event listener subprocesses subscribing to the RemoteCommunicationEvent.',
        returns: 'boolean',
        params: [param('string', 'type', z.string()), param('string', 'data', z.string())],
        run: ([type, data]) => {
          this.control.sendRemoteCommEvent(type, data);
          return true;
        },
      }),
      'system.listMethods': define({
        help: 'Return an array listing the available method names.',
        returns: 'array',
        params: [],
        guarded: false,
        run: () => [...this.methods.keys()],
      }),
      'system.methodHelp': define({
        help: "Return a string showing the method's documentation.",
        returns: 'string',
        params: [nameParam],
        guarded: false,
        run: ([method]) => helpText(lookUpMethod(method)),
      }),
      'system.methodSignature': define({
        help: 'Return [rtype, ptype, ptype...] for the method.',
        returns: 'array',
        params: [nameParam],
        guarded: false,
        run: ([method]) => {
          const found = lookUpMethod(method);
          return [found.returns, ...found.params.map((p) => p.type)];
        },
      }),
      'system.multicall': define({
        help: 'Process an array of {methodName, params} calls; each result is a value or a fault struct.',
        returns: 'array',
        params: [param('array', 'calls', z.array(z.unknown()))],
        guarded: false,
        run: async ([calls]) => {
          const results: XmlRpcValue[] = [];
          // One after the other, as supervisord does: a later call may depend on an earlier one.
          for (const raw of calls) results.push(await this.multicallOne(raw));
          return results;
        },
      }),
    };
  }

  private async multicallOne(raw: unknown): Promise<XmlRpcValue> {
    const call = multicallEntry.safeParse(raw);
    try {
      if (!call.success) throw new SupervisorFault(FaultCode.INCORRECT_PARAMETERS, 'No methodName');
      if (call.data.methodName === 'system.multicall') {
        throw new SupervisorFault(FaultCode.INCORRECT_PARAMETERS, 'Recursive system.multicall forbidden');
      }
      return await this.call(call.data.methodName, call.data.params);
    } catch (error) {
      if (isFault(error)) return { faultCode: error.code, faultString: error.message };
      return { faultCode: FaultCode.FAILED, faultString: `FAILED: ${error instanceof Error ? error.message : String(error)}` };
    }
  }
}

const xmlRpcValue: z.ZodType<XmlRpcValue> = z.custom<XmlRpcValue>(() => true);
const multicallEntry = z.object({ methodName: z.string(), params: z.array(xmlRpcValue).default([]) });

function helpText(method: MethodDefinition): string {
  const lines = [method.help, ''];
  for (const p of method.params) lines.push(`@param ${p.type} ${p.name}`);
  lines.push(`@return ${method.returns} result`);
  return lines.join('\n');
}

function describeParamError(methodName: string, method: MethodDefinition, error: z.ZodError): string {
  const expected = method.params.map((p) => `${p.type} ${p.name}`).join(', ');
  const issue = error.issues[0];
  const where = issue && issue.path.length > 0 ? ` (param ${String(issue.path[0])}: ${issue.message})` : issue ? ` (${issue.message})` : '';
  return `${methodName}(${expected})${where}`;
}
