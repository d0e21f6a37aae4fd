// The `supervisor.*` and `system.*` namespaces: each method's parameters go through a zod tuple once,
// then the typed handler runs against SupervisorControl. Group and "all" operations are composed here
// from the per-process ones, in supervisord's order, returning its result structs.
import { constants as osConstants } from 'node:os';
import { z } from 'zod';
import {
  FaultCode,
  ProcessState,
  SupervisorFault,
  SupervisordState,
  type LogTarget,
  type ProcessInfo,
  type SupervisorControl,
} from '../types.js';
import { fileExists, readLogRange, tailLogRange } from './log-files.js';
import { processInfoStruct } from './process-info.js';
import type { XmlRpcValue } from './xmlrpc.js';

export const API_VERSION = '3.0';
/** The supervisor release whose wire behaviour we reproduce (`supervisorctl version` prints it). */
export const SUPERVISOR_VERSION = '4.2.5';

const RUNNING_STATES = new Set([ProcessState.STARTING, ProcessState.RUNNING, ProcessState.BACKOFF]);
const SIGNALLABLE_STATES = new Set([ProcessState.RUNNING, ProcessState.STARTING, ProcessState.STOPPING]);

type WireType = 'string' | 'int' | 'boolean' | 'array' | 'struct';

interface MethodDefinition {
  help: string;
  returns: WireType;
  params: Array<[WireType, string]>;
  schema: z.ZodType<unknown[]>;
  /** False for system.*: supervisord answers those during shutdown too. */
  guarded: boolean;
  run(args: never): Promise<XmlRpcValue> | XmlRpcValue;
}

const name = z.string();
const int = z.number().int();
// Python takes any truthy value for wait; XML-RPC clients send <boolean> or <int>.
const flag = z.union([z.boolean(), z.number().int()]).transform((v) => Boolean(v));

function define<S extends z.ZodType<unknown[]>>(
  definition: Omit<MethodDefinition, 'schema' | 'run' | 'guarded'> & {
    schema: S;
    guarded?: boolean;
    run(args: z.output<S>): Promise<XmlRpcValue> | XmlRpcValue;
  },
): MethodDefinition {
  return { guarded: true, ...definition, run: definition.run as (args: never) => Promise<XmlRpcValue> | XmlRpcValue };
}

interface ResolvedName {
  group: string;
  /** null for `group:*` / `group:` */
  process: ProcessInfo | null;
}

function namespec(info: { group: string; name: string }): string {
  return info.group === info.name ? info.name : `${info.group}:${info.name}`;
}

function isFault(error: unknown): error is SupervisorFault {
  return error instanceof SupervisorFault;
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
        .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)),
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
    const colon = spec.indexOf(':');
    const groupName = colon === -1 ? spec : spec.slice(0, colon);
    const rest = colon === -1 ? spec : spec.slice(colon + 1);
    const processName = rest === '' || rest === '*' ? null : rest;
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

  private priorities(): Map<string, number> {
    const byName = new Map<string, number>();
    for (const group of this.control.config().groups) {
      for (const process of group.processes) byName.set(`${process.group}\0${process.name}`, process.priority);
    }
    return byName;
  }

  /** Groups in the control's (priority) order, processes by priority within each group. */
  private inPriorityOrder(processes: ProcessInfo[]): ProcessInfo[] {
    const priority = this.priorities();
    const groupOrder: string[] = [];
    for (const p of processes) if (!groupOrder.includes(p.group)) groupOrder.push(p.group);
    const prio = (p: ProcessInfo): number => priority.get(`${p.group}\0${p.name}`) ?? 999;
    return groupOrder.flatMap((group) =>
      processes.filter((p) => p.group === group).sort((a, b) => prio(a) - prio(b) || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0)),
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

  /** Every matching process is started at once, then all are awaited (supervisord's make_allfunc). */
  private async forEach(
    processes: ProcessInfo[],
    predicate: (p: ProcessInfo) => boolean,
    action: (spec: string) => Promise<unknown>,
  ): Promise<ResultStruct[]> {
    const pending = processes.filter(predicate).map(async (p): Promise<ResultStruct> => {
      try {
        await action(namespec(p));
        return { name: p.name, group: p.group, status: FaultCode.SUCCESS, description: 'OK' };
      } catch (error) {
        if (!isFault(error)) throw error;
        return { name: p.name, group: p.group, status: error.code, description: error.message };
      }
    });
    return Promise.all(pending);
  }

  // ---- per-process operations (the RPC-level checks supervisord makes before acting) ----

  private async startOne(spec: string, wait: boolean): Promise<XmlRpcValue> {
    const { group, process } = this.resolve(spec);
    if (process === null) return this.startGroup(group, wait);
    if (RUNNING_STATES.has(process.state)) throw new SupervisorFault(FaultCode.ALREADY_STARTED, spec);
    if (process.state === ProcessState.UNKNOWN) {
      throw new SupervisorFault(FaultCode.FAILED, `${spec} is in an unknown process state`);
    }
    await this.control.startProcess(namespec(process), wait);
    return true;
  }

  private async startGroup(group: string, wait: boolean): Promise<XmlRpcValue> {
    const processes = this.groupProcesses(group);
    return this.forEach(processes, (p) => !RUNNING_STATES.has(p.state), (spec) => this.startOne(spec, wait));
  }

  private async stopOne(spec: string, wait: boolean): Promise<XmlRpcValue> {
    const { group, process } = this.resolve(spec);
    if (process === null) return this.stopGroup(group, wait);
    if (!RUNNING_STATES.has(process.state)) throw new SupervisorFault(FaultCode.NOT_RUNNING, spec);
    await this.control.stopProcess(namespec(process), wait);
    return true;
  }

  private async stopGroup(group: string, wait: boolean): Promise<XmlRpcValue> {
    const processes = this.groupProcesses(group);
    return this.forEach(processes, (p) => RUNNING_STATES.has(p.state), (spec) => this.stopOne(spec, wait));
  }

  private async signalOne(spec: string, signal: string): Promise<XmlRpcValue> {
    const { group, process } = this.resolve(spec);
    if (process === null) return this.signalGroup(group, signal);
    const parsed = parseSignal(signal);
    if (parsed === undefined) throw new SupervisorFault(FaultCode.BAD_SIGNAL, signal);
    if (!SIGNALLABLE_STATES.has(process.state)) throw new SupervisorFault(FaultCode.NOT_RUNNING, spec);
    try {
      this.control.signalProcess(namespec(process), parsed);
    } catch (error) {
      if (isFault(error)) throw error;
      throw new SupervisorFault(FaultCode.FAILED, error instanceof Error ? error.message : String(error));
    }
    return true;
  }

  private async signalGroup(group: string, signal: string): Promise<XmlRpcValue> {
    return this.forEach(this.groupProcesses(group), (p) => SIGNALLABLE_STATES.has(p.state), (spec) => this.signalOne(spec, signal));
  }

  private async readProcessLog(spec: string, offset: number, length: number, channel: 'stdout' | 'stderr'): Promise<string> {
    const process = this.resolveProcess(spec);
    const path = channel === 'stdout' ? process.stdoutLogfile : process.stderrLogfile;
    if (path === '' || !(await fileExists(path))) throw new SupervisorFault(FaultCode.NO_FILE, path === '' ? 'None' : path);
    return readLogRange(path, offset, length);
  }

  private async tailProcessLog(spec: string, offset: number, length: number, channel: 'stdout' | 'stderr'): Promise<XmlRpcValue> {
    const process = this.resolveProcess(spec);
    const path = channel === 'stdout' ? process.stdoutLogfile : process.stderrLogfile;
    if (path === '' || !(await fileExists(path))) return ['', 0, false];
    return tailLogRange(path, offset, length);
  }

  private async clearOne(spec: string): Promise<XmlRpcValue> {
    const process = this.resolveProcess(spec);
    try {
      await this.control.clearProcessLogs(namespec(process));
    } catch (error) {
      if (isFault(error)) throw error;
      throw new SupervisorFault(FaultCode.FAILED, spec);
    }
    return true;
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
        stdout_capture_maxbytes: 0,
        stdout_events_enabled: false,
        stdout_logfile: logPath(p.stdout),
        stdout_logfile_backups: p.stdout.kind === 'file' ? p.stdout.backups : 0,
        stdout_logfile_maxbytes: p.stdout.kind === 'file' ? p.stdout.maxBytes : 0,
        stdout_syslog: false,
        stopsignal: signals[`SIG${p.stopsignal}`] ?? 15,
        stopwaitsecs: p.stopwaitsecs,
        stderr_capture_maxbytes: 0,
        stderr_events_enabled: false,
        stderr_logfile: logPath(p.stderr),
        stderr_logfile_backups: p.stderr.kind === 'file' ? p.stderr.backups : 0,
        stderr_logfile_maxbytes: p.stderr.kind === 'file' ? p.stderr.maxBytes : 0,
        stderr_syslog: false,
        serverurl: p.serverurl === 'AUTO' ? 'auto' : p.serverurl,
      })),
    );
    return rows.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }

  private buildMethods(): Record<string, MethodDefinition> {
    const control = this.control;
    const s = z.tuple;
    const readLog = define({
      help: 'Read length bytes from the main log starting at offset.',
      returns: 'string',
      params: [
        ['int', 'offset'],
        ['int', 'length'],
      ],
      schema: s([int, int]),
      run: async ([offset, length]) => {
        const path = control.mainLogfile();
        if (path === null || !(await fileExists(path))) throw new SupervisorFault(FaultCode.NO_FILE, path ?? 'None');
        return readLogRange(path, offset, length);
      },
    });
    const version = define({
      help: 'Return the version of the RPC API used by supervisord.',
      returns: 'string',
      params: [],
      schema: s([]),
      run: () => API_VERSION,
    });
    const readStdout = define({
      help: "Read length bytes from name's stdout log starting at offset.",
      returns: 'string',
      params: [
        ['string', 'name'],
        ['int', 'offset'],
        ['int', 'length'],
      ],
      schema: s([name, int, int]),
      run: ([spec, offset, length]) => this.readProcessLog(spec, offset, length, 'stdout'),
    });
    const tailStdout = define({
      help: "Tail name's stdout log: [bytes, offset, overflow].",
      returns: 'array',
      params: [
        ['string', 'name'],
        ['int', 'offset'],
        ['int', 'length'],
      ],
      schema: s([name, int, int]),
      run: ([spec, offset, length]) => this.tailProcessLog(spec, offset, length, 'stdout'),
    });
    const clearProcess = define({
      help: 'Clear the stdout and stderr logs for the named process and reopen them.',
      returns: 'boolean',
      params: [['string', 'name']],
      schema: s([name]),
      run: ([spec]) => this.clearOne(spec),
    });

    const methods: Record<string, MethodDefinition> = {
      'supervisor.getAPIVersion': version,
      'supervisor.getVersion': version,
      'supervisor.getSupervisorVersion': define({
        help: 'Return the version of the supervisor package in use by supervisord.',
        returns: 'string',
        params: [],
        schema: s([]),
        run: () => SUPERVISOR_VERSION,
      }),
      'supervisor.getIdentification': define({
        help: 'Return the identifying string of supervisord.',
        returns: 'string',
        params: [],
        schema: s([]),
        run: () => control.identification,
      }),
      'supervisor.getState': define({
        help: 'Return the current state of supervisord as a struct {statecode, statename}.',
        returns: 'struct',
        params: [],
        schema: s([]),
        run: () => {
          const state = control.state();
          return { statecode: state, statename: SupervisordState[state] ?? 'UNKNOWN' };
        },
      }),
      'supervisor.getPID': define({
        help: 'Return the PID of supervisord.',
        returns: 'int',
        params: [],
        schema: s([]),
        run: () => control.pid,
      }),
      'supervisor.readLog': readLog,
      'supervisor.readMainLog': readLog,
      'supervisor.clearLog': define({
        help: 'Clear the main log.',
        returns: 'boolean',
        params: [],
        schema: s([]),
        run: async () => {
          const path = control.mainLogfile();
          if (path === null || !(await fileExists(path))) throw new SupervisorFault(FaultCode.NO_FILE);
          try {
            await control.clearMainLog();
          } catch (error) {
            if (isFault(error)) throw error;
            throw new SupervisorFault(FaultCode.FAILED);
          }
          return true;
        },
      }),
      'supervisor.shutdown': define({
        help: 'Shut down the supervisor process.',
        returns: 'boolean',
        params: [],
        schema: s([]),
        run: () => {
          control.shutdown();
          return true;
        },
      }),
      'supervisor.restart': define({
        help: 'Restart the supervisor process.',
        returns: 'boolean',
        params: [],
        schema: s([]),
        run: () => {
          control.restart();
          return true;
        },
      }),
      'supervisor.reloadConfig': define({
        help: 'Re-read the configuration: [[added, changed, removed]] group names.',
        returns: 'array',
        params: [],
        schema: s([]),
        run: async () => {
          const result = await control.reloadConfig();
          return [[result.added, result.changed, result.removed]];
        },
      }),
      'supervisor.addProcessGroup': define({
        help: 'Start managing a process group from the re-read configuration.',
        returns: 'boolean',
        params: [['string', 'name']],
        schema: s([name]),
        run: async ([group]) => {
          await control.addProcessGroup(group);
          return true;
        },
      }),
      'supervisor.removeProcessGroup': define({
        help: 'Remove a stopped process group from the active configuration.',
        returns: 'boolean',
        params: [['string', 'name']],
        schema: s([name]),
        run: async ([group]) => {
          if (!control.processes().some((p) => p.group === group)) throw new SupervisorFault(FaultCode.BAD_NAME, group);
          await control.removeProcessGroup(group);
          return true;
        },
      }),
      'supervisor.startProcess': define({
        help: 'Start a process (name, group:name or group:*); wait for it to be fully started.',
        returns: 'boolean',
        params: [
          ['string', 'name'],
          ['boolean', 'wait'],
        ],
        schema: s([name, flag.optional()]),
        run: ([spec, wait]) => this.startOne(spec, wait ?? true),
      }),
      'supervisor.startProcessGroup': define({
        help: "Start all processes in the group named 'name'.",
        returns: 'array',
        params: [
          ['string', 'name'],
          ['boolean', 'wait'],
        ],
        schema: s([name, flag.optional()]),
        run: ([group, wait]) => this.startGroup(group, wait ?? true),
      }),
      'supervisor.startAllProcesses': define({
        help: 'Start all processes listed in the configuration file.',
        returns: 'array',
        params: [['boolean', 'wait']],
        schema: s([flag.optional()]),
        run: ([wait]) => this.forEach(this.allProcesses(), (p) => !RUNNING_STATES.has(p.state), (spec) => this.startOne(spec, wait ?? true)),
      }),
      'supervisor.stopProcess': define({
        help: 'Stop a process (name, group:name or group:*); wait for it to be fully stopped.',
        returns: 'boolean',
        params: [
          ['string', 'name'],
          ['boolean', 'wait'],
        ],
        schema: s([name, flag.optional()]),
        run: ([spec, wait]) => this.stopOne(spec, wait ?? true),
      }),
      'supervisor.stopProcessGroup': define({
        help: "Stop all processes in the process group named 'name'.",
        returns: 'array',
        params: [
          ['string', 'name'],
          ['boolean', 'wait'],
        ],
        schema: s([name, flag.optional()]),
        run: ([group, wait]) => this.stopGroup(group, wait ?? true),
      }),
      'supervisor.stopAllProcesses': define({
        help: 'Stop all processes in the process list.',
        returns: 'array',
        params: [['boolean', 'wait']],
        schema: s([flag.optional()]),
        run: ([wait]) =>
          this.forEach(this.allProcesses(), (p) => RUNNING_STATES.has(p.state), (spec) => this.stopOne(spec, wait ?? true)),
      }),
      'supervisor.signalProcess': define({
        help: 'Send a UNIX signal (name like HUP or number like 1) to the named process.',
        returns: 'boolean',
        params: [
          ['string', 'name'],
          ['string', 'signal'],
        ],
        schema: s([name, z.union([z.string(), int.transform(String)])]),
        run: ([spec, signal]) => this.signalOne(spec, signal),
      }),
      'supervisor.signalProcessGroup': define({
        help: "Send a signal to all processes in the group named 'name'.",
        returns: 'array',
        params: [
          ['string', 'name'],
          ['string', 'signal'],
        ],
        schema: s([name, z.union([z.string(), int.transform(String)])]),
        run: ([group, signal]) => this.signalGroup(group, signal),
      }),
      'supervisor.signalAllProcesses': define({
        help: 'Send a signal to all processes in the process list.',
        returns: 'array',
        params: [['string', 'signal']],
        schema: s([z.union([z.string(), int.transform(String)])]),
        run: ([signal]) => this.forEach(this.allProcesses(), (p) => SIGNALLABLE_STATES.has(p.state), (spec) => this.signalOne(spec, signal)),
      }),
      'supervisor.getAllConfigInfo': define({
        help: 'Get info about all available process configurations, one struct per process.',
        returns: 'array',
        params: [],
        schema: s([]),
        run: () => this.configInfo(),
      }),
      'supervisor.getProcessInfo': define({
        help: 'Get info about a process named name (or group:name).',
        returns: 'struct',
        params: [['string', 'name']],
        schema: s([name]),
        run: ([spec]) => processInfoStruct(this.resolveProcess(spec)),
      }),
      'supervisor.getAllProcessInfo': define({
        help: 'Get info about all processes.',
        returns: 'array',
        params: [],
        schema: s([]),
        run: () =>
          [...control.processes()]
            .sort((a, b) => (a.group < b.group ? -1 : a.group > b.group ? 1 : a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
            .map(processInfoStruct),
      }),
      'supervisor.readProcessStdoutLog': readStdout,
      'supervisor.readProcessLog': readStdout,
      'supervisor.readProcessStderrLog': define({
        help: "Read length bytes from name's stderr log starting at offset.",
        returns: 'string',
        params: [
          ['string', 'name'],
          ['int', 'offset'],
          ['int', 'length'],
        ],
        schema: s([name, int, int]),
        run: ([spec, offset, length]) => this.readProcessLog(spec, offset, length, 'stderr'),
      }),
      'supervisor.tailProcessStdoutLog': tailStdout,
      'supervisor.tailProcessLog': tailStdout,
      'supervisor.tailProcessStderrLog': define({
        help: "Tail name's stderr log: [bytes, offset, overflow].",
        returns: 'array',
        params: [
          ['string', 'name'],
          ['int', 'offset'],
          ['int', 'length'],
        ],
        schema: s([name, int, int]),
        run: ([spec, offset, length]) => this.tailProcessLog(spec, offset, length, 'stderr'),
      }),
      'supervisor.clearProcessLogs': clearProcess,
      'supervisor.clearProcessLog': clearProcess,
      'supervisor.clearAllProcessLogs': define({
        help: 'Clear all process log files.',
        returns: 'array',
        params: [],
        schema: s([]),
        run: () => this.forEach(this.allProcesses(), () => true, (spec) => this.clearOne(spec)),
      }),
      'supervisor.sendProcessStdin': define({
        help: 'Send a string of chars to the stdin of the process name.',
        returns: 'boolean',
        params: [
          ['string', 'name'],
          ['string', 'chars'],
        ],
        schema: s([name, z.string()]),
        run: ([spec, chars]) => {
          const process = this.resolveProcess(spec);
          if (process.pid === 0 || process.state === ProcessState.STOPPING) throw new SupervisorFault(FaultCode.NOT_RUNNING, spec);
          control.sendProcessStdin(namespec(process), chars);
          return true;
        },
      }),
      'supervisor.sendRemoteCommEvent': define({
        help: 'Send an event that will be received by event listener subprocesses (no listeners here).',
        returns: 'boolean',
        params: [
          ['string', 'type'],
          ['string', 'data'],
        ],
        schema: s([z.string(), z.string()]),
        run: () => true,
      }),
      'system.listMethods': define({
        help: 'Return an array listing the available method names.',
        returns: 'array',
        params: [],
        schema: s([]),
        guarded: false,
        run: () => [...this.methods.keys()],
      }),
      'system.methodHelp': define({
        help: "Return a string showing the method's documentation.",
        returns: 'string',
        params: [['string', 'name']],
        schema: s([name]),
        guarded: false,
        run: ([method]) => {
          const found = this.methods.get(method);
          if (found === undefined) throw new SupervisorFault(FaultCode.SIGNATURE_UNSUPPORTED);
          return helpText(found);
        },
      }),
      'system.methodSignature': define({
        help: 'Return [rtype, ptype, ptype...] for the method.',
        returns: 'array',
        params: [['string', 'name']],
        schema: s([name]),
        guarded: false,
        run: ([method]) => {
          const found = this.methods.get(method);
          if (found === undefined) throw new SupervisorFault(FaultCode.SIGNATURE_UNSUPPORTED);
          return [found.returns, ...found.params.map(([type]) => type)];
        },
      }),
      'system.multicall': define({
        help: 'Process an array of {methodName, params} calls; each result is a value or a fault struct.',
        returns: 'array',
        params: [['array', 'calls']],
        schema: s([z.array(z.unknown())]),
        guarded: false,
        run: async ([calls]) => {
          const results: XmlRpcValue[] = [];
          // One after the other, as supervisord does: a later call may depend on an earlier one.
          for (const raw of calls) results.push(await this.multicallOne(raw));
          return results;
        },
      }),
    };
    return methods;
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
  for (const [type, paramName] of method.params) lines.push(`@param ${type} ${paramName}`);
  lines.push(`@return ${method.returns} result`);
  return lines.join('\n');
}

function describeParamError(methodName: string, method: MethodDefinition, error: z.ZodError): string {
  const expected = method.params.map(([type, paramName]) => `${type} ${paramName}`).join(', ');
  const issue = error.issues[0];
  const where = issue && issue.path.length > 0 ? ` (param ${String(issue.path[0])}: ${issue.message})` : issue ? ` (${issue.message})` : '';
  return `${methodName}(${expected})${where}`;
}
