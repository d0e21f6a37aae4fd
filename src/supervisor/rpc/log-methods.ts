// supervisord's logging methods (rpcinterface.py): the main log (readLog, clearLog) and each process's
// stdout/stderr logs (read, tail, clear).
import { FaultCode, SupervisorFault, type SupervisorControl } from '../types.js';
import { fileExists, readLogRange, tailLogRange } from './log-files.js';
import { asFault, define, lengthParam, nameParam, namespec, offsetParam, type MethodTable } from './method-definition.js';
import type { ProcessOperation, ProcessTargets } from './process-targets.js';
import type { XmlRpcValue } from './xmlrpc.js';

type Channel = 'stdout' | 'stderr';

export function logMethods(control: SupervisorControl, targets: ProcessTargets): MethodTable {
  const logFile = (spec: string, channel: Channel): string => {
    const process = targets.resolveProcess(spec);
    return channel === 'stdout' ? process.stdoutLogfile : process.stderrLogfile;
  };

  const readProcessLog = async (spec: string, offset: number, length: number, channel: Channel): Promise<string> => {
    const path = logFile(spec, channel);
    if (path === '' || !(await fileExists(path))) throw new SupervisorFault(FaultCode.NO_FILE, path === '' ? 'None' : path);
    return readLogRange(path, offset, length);
  };

  const tailProcessLog = async (spec: string, offset: number, length: number, channel: Channel): Promise<XmlRpcValue> => {
    const path = logFile(spec, channel);
    if (path === '' || !(await fileExists(path))) return ['', 0, false];
    return tailLogRange(path, offset, length);
  };

  /** supervisor.readProcessStdoutLog / tailProcessStderrLog and the like, per channel. */
  const processLogMethods = (channel: Channel): MethodTable => {
    const Channel = channel === 'stdout' ? 'Stdout' : 'Stderr';
    return {
      [`supervisor.readProcess${Channel}Log`]: define({
        help: `Read length bytes from name's ${channel} log starting at offset.`,
        returns: 'string',
        params: [nameParam, offsetParam, lengthParam],
        run: ([spec, offset, length]) => readProcessLog(spec, offset, length, channel),
      }),
      [`supervisor.tailProcess${Channel}Log`]: define({
        help: `Tail name's ${channel} log: [bytes, offset, overflow].`,
        returns: 'array',
        params: [nameParam, offsetParam, lengthParam],
        run: ([spec, offset, length]) => tailProcessLog(spec, offset, length, channel),
      }),
    };
  };

  const clearing: ProcessOperation<void> = {
    eligible: () => true,
    immediate: true,
    one: async (spec) => {
      const process = targets.resolveProcess(spec);
      try {
        await control.clearProcessLogs(namespec(process));
      } catch (error) {
        throw asFault(error, () => new SupervisorFault(FaultCode.FAILED, spec));
      }
      return true;
    },
  };

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
    run: ([spec]) => clearing.one(spec),
  });
  const stdoutLogs = processLogMethods('stdout');

  return {
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
    ...stdoutLogs,
    ...processLogMethods('stderr'),
    'supervisor.readProcessLog': stdoutLogs['supervisor.readProcessStdoutLog']!,
    'supervisor.tailProcessLog': stdoutLogs['supervisor.tailProcessStdoutLog']!,
    'supervisor.clearProcessLogs': clearProcessLogs,
    'supervisor.clearProcessLog': clearProcessLogs,
    'supervisor.clearAllProcessLogs': define({
      help: 'Clear all process log files.',
      returns: 'array',
      params: [],
      run: () => targets.onEach(targets.allProcesses(), clearing, undefined),
    }),
  };
}
