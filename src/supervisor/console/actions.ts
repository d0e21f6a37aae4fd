// The console's actions (index.html?processname=…&action=…), with supervisord 4.2.5's messages word for
// word (supervisor/web.py StatusView.make_callback). Every action goes through the XML-RPC methods, so the
// console and supervisorctl share one set of rules (waits, faults, order).
import { splitNamespec } from '../protocol.js';
import type { SupervisorRpc } from '../rpc/methods.js';
import { FaultCode, SupervisorFault, type SupervisorControl } from '../types.js';

/** An action web.py does not know (or one needing a process name without it): supervisord answers 500. */
export class UnknownActionError extends Error {
  constructor(action: string) {
    super(`unknown console action '${action}'`);
    this.name = 'UnknownActionError';
  }
}

/** Python's `time.ctime()`: `Mon Dec  7 00:49:20 2026` (day padded with a space), local time. */
export function ctime(date = new Date()): string {
  const days = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
  const months = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
  const pad = (n: number): string => String(n).padStart(2, '0');
  return `${days[date.getDay()] ?? ''} ${months[date.getMonth()] ?? ''} ${String(date.getDate()).padStart(2, ' ')} ${pad(date.getHours())}:${pad(date.getMinutes())}:${pad(date.getSeconds())} ${date.getFullYear()}`;
}

/** `unexpected rpc fault [70] NOT_RUNNING: manual`, as web.py words a fault it has no message for. */
function unexpectedFault(error: SupervisorFault): string {
  return `unexpected rpc fault [${error.code}] ${error.message}`;
}

function asFault(error: unknown): SupervisorFault {
  if (error instanceof SupervisorFault) return error;
  throw error;
}

const START_FAULTS: Partial<Record<FaultCode, string>> = {
  [FaultCode.NO_FILE]: 'no such file',
  [FaultCode.NOT_EXECUTABLE]: 'file not executable',
  [FaultCode.ALREADY_STARTED]: 'already started',
  [FaultCode.SPAWN_ERROR]: 'spawn error',
  [FaultCode.ABNORMAL_TERMINATION]: 'abnormal termination',
};

/**
 * Carries out one console action and returns the message the page then shows (after a redirect to
 * `/?message=…`). Waits as the RPC methods wait (a start until RUNNING, a stop until STOPPED).
 * Throws UnknownActionError where supervisord raises ValueError (its 500).
 */
export async function runConsoleAction(
  rpc: SupervisorRpc,
  control: SupervisorControl,
  namespec: string | undefined,
  action: string,
  now: () => Date = () => new Date(),
): Promise<string> {
  if (action === 'refresh') return `Page refreshed at ${ctime(now())}`;
  if (action === 'stopall') {
    await rpc.call('supervisor.stopAllProcesses', []);
    return `All stopped at ${ctime(now())}`;
  }
  if (action === 'restartall') {
    // A multicall, as web.py: the start runs even when a stop fails.
    await rpc.call('system.multicall', [[{ methodName: 'supervisor.stopAllProcesses' }, { methodName: 'supervisor.startAllProcesses' }]]);
    return `All restarted at ${ctime(now())}`;
  }
  if (namespec === undefined) throw new UnknownActionError(action);
  const { group, process: name } = splitNamespec(namespec);
  if (!control.processes().some((info) => info.group === group && info.name === name)) return `No such process named ${namespec}`;
  switch (action) {
    case 'start':
      try {
        await rpc.call('supervisor.startProcess', [namespec]);
      } catch (error) {
        const fault = asFault(error);
        return `ERROR: Process ${namespec}: ${START_FAULTS[fault.code] ?? unexpectedFault(fault)}`;
      }
      return `Process ${namespec} started`;
    case 'stop':
      try {
        await rpc.call('supervisor.stopProcess', [namespec]);
      } catch (error) {
        return unexpectedFault(asFault(error));
      }
      return `Process ${namespec} stopped`;
    case 'restart':
      // A multicall too: a process that was not running is started all the same.
      await rpc.call('system.multicall', [
        [
          { methodName: 'supervisor.stopProcess', params: [namespec] },
          { methodName: 'supervisor.startProcess', params: [namespec] },
        ],
      ]);
      return `Process ${namespec} restarted`;
    case 'clearlog':
      try {
        await rpc.call('supervisor.clearProcessLogs', [namespec]);
      } catch (error) {
        return unexpectedFault(asFault(error));
      }
      return `Log for ${namespec} cleared`;
    default:
      throw new UnknownActionError(action);
  }
}

/** The tail page's text (web.py TailView): the last `limit` bytes (at least 1024) of the stdout log, or why not. */
export async function tailText(rpc: SupervisorRpc, processname: string, limit: number): Promise<string> {
  try {
    const text = await rpc.call('supervisor.readProcessStdoutLog', [processname, -limit, 0]);
    return typeof text === 'string' ? text : '';
  } catch (error) {
    const fault = asFault(error);
    if (fault.code === FaultCode.NO_FILE) return `No file for ${processname}`;
    return `ERROR: ${unexpectedFault(fault)}`;
  }
}
