// supervisord's process control methods (rpcinterface.py): start/stop/signal a process, a group or all
// (with the RPC-level checks supervisord makes before acting), process and config info, stdin and
// remote communication events.
import { constants as osConstants } from 'node:os';
import { _default, boolean, pipe, string, transform, union } from 'zod/mini';
import {
  FaultCode,
  ProcessState,
  RUNNING_STATES,
  SIGNALLABLE_STATES,
  SupervisorFault,
  type LogTarget,
  type SupervisorControl,
} from '../types.js';
import { asFault, compareStrings, define, integer, nameParam, namespec, param, type MethodTable, type Param } from './method-definition.js';
import { processInfoStruct } from './process-info.js';
import type { ProcessOperation, ProcessTargets } from './process-targets.js';
import type { XmlRpcValue } from './xmlrpc.js';

// Python takes any truthy value for wait; XML-RPC clients send <boolean> or <int>. Omitted means wait.
const waitParam = param(
  'boolean',
  'wait',
  _default(
    pipe(
      union([boolean(), integer()]),
      transform((v: boolean | number) => Boolean(v)),
    ),
    true,
  ),
);
const signalParam = param('string', 'signal', union([string(), pipe(integer(), transform(String))]));

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

function configInfo(control: SupervisorControl): XmlRpcValue[] {
  const active = new Set(control.processes().map((p) => p.group));
  const signals = osConstants.signals as Record<string, number>;
  const rows = control.config().groups.flatMap((group) =>
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

export function processControlMethods(control: SupervisorControl, targets: ProcessTargets): MethodTable {
  const starting: ProcessOperation<boolean> = {
    eligible: (p) => !RUNNING_STATES.has(p.state),
    one: async (spec, wait) => {
      const { group, process } = targets.resolve(spec);
      if (process === null) return targets.onGroup(starting, group, wait);
      if (RUNNING_STATES.has(process.state)) throw new SupervisorFault(FaultCode.ALREADY_STARTED, spec);
      if (process.state === ProcessState.UNKNOWN) {
        throw new SupervisorFault(FaultCode.FAILED, `${spec} is in an unknown process state`);
      }
      await control.startProcess(namespec(process), wait);
      return true;
    },
  };

  const stopping: ProcessOperation<boolean> = {
    eligible: (p) => RUNNING_STATES.has(p.state),
    one: async (spec, wait) => {
      const { group, process } = targets.resolve(spec);
      if (process === null) return targets.onGroup(stopping, group, wait);
      if (!RUNNING_STATES.has(process.state)) throw new SupervisorFault(FaultCode.NOT_RUNNING, spec);
      await control.stopProcess(namespec(process), wait);
      return true;
    },
  };

  const signalling: ProcessOperation<string> = {
    eligible: (p) => SIGNALLABLE_STATES.has(p.state),
    immediate: true,
    one: async (spec, signal) => {
      const { group, process } = targets.resolve(spec);
      if (process === null) return targets.onGroup(signalling, group, signal);
      const parsed = parseSignal(signal);
      if (parsed === undefined) throw new SupervisorFault(FaultCode.BAD_SIGNAL, signal);
      if (!SIGNALLABLE_STATES.has(process.state)) throw new SupervisorFault(FaultCode.NOT_RUNNING, spec);
      try {
        control.signalProcess(namespec(process), parsed);
      } catch (error) {
        throw asFault(error, (message) => new SupervisorFault(FaultCode.FAILED, message));
      }
      return true;
    },
  };

  /**
   * `verbProcess`, `verbProcessGroup` and `verbAllProcesses`: one operation on a process, on a group
   * and on every process, all taking the same extra parameter.
   */
  const operationMethods = <A>(
    verb: string,
    operation: ProcessOperation<A>,
    extra: Param<A>,
    help: { process: string; group: string; all: string },
  ): MethodTable => ({
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
      run: ([group, arg]) => targets.onGroup(operation, group, arg),
    }),
    [`supervisor.${verb}AllProcesses`]: define({
      help: help.all,
      returns: 'array',
      params: [extra],
      run: ([arg]) => targets.onEach(targets.allProcesses(), operation, arg),
    }),
  });

  return {
    ...operationMethods('start', starting, waitParam, {
      process: 'Start a process (name, group:name or group:*); wait for it to be fully started.',
      group: "Start all processes in the group named 'name'.",
      all: 'Start all processes listed in the configuration file.',
    }),
    ...operationMethods('stop', stopping, waitParam, {
      process: 'Stop a process (name, group:name or group:*); wait for it to be fully stopped.',
      group: "Stop all processes in the process group named 'name'.",
      all: 'Stop all processes in the process list.',
    }),
    ...operationMethods('signal', signalling, signalParam, {
      process: 'Send a UNIX signal (name like HUP or number like 1) to the named process.',
      group: "Send a signal to all processes in the group named 'name'.",
      all: 'Send a signal to all processes in the process list.',
    }),
    'supervisor.getAllConfigInfo': define({
      help: 'Get info about all available process configurations, one struct per process.',
      returns: 'array',
      params: [],
      run: () => configInfo(control),
    }),
    'supervisor.getProcessInfo': define({
      help: 'Get info about a process named name (or group:name).',
      returns: 'struct',
      params: [nameParam],
      run: ([spec]) => processInfoStruct(targets.resolveProcess(spec)),
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
    'supervisor.sendProcessStdin': define({
      help: 'Send a string of chars to the stdin of the process name.',
      returns: 'boolean',
      params: [nameParam, param('string', 'chars', string())],
      run: ([spec, chars]) => {
        const process = targets.resolveProcess(spec);
        if (process.pid === 0 || process.state === ProcessState.STOPPING) throw new SupervisorFault(FaultCode.NOT_RUNNING, spec);
        control.sendProcessStdin(namespec(process), chars);
        return true;
      },
    }),
    'supervisor.sendRemoteCommEvent': define({
      help: 'Send an event that will be received by event listener subprocesses subscribing to the RemoteCommunicationEvent.',
      returns: 'boolean',
      params: [param('string', 'type', string()), param('string', 'data', string())],
      run: ([type, data]) => {
        control.sendRemoteCommEvent(type, data);
        return true;
      },
    }),
  };
}
