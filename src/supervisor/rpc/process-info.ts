// The process-info struct as supervisord puts it on the wire, and the `description` text that
// supervisorctl prints in `status` (supervisord computes it server-side, so we do too).
import { ProcessState, type ProcessInfo } from '../types.js';
import type { XmlRpcValue } from './xmlrpc.js';

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** Python's `str(timedelta)` for whole seconds: `0:05:22`, `1 day, 1:02:03`, `2 days, 0:00:05`. */
export function formatUptime(seconds: number): string {
  const total = Math.max(0, Math.floor(seconds));
  const days = Math.floor(total / 86_400);
  const rest = total % 86_400;
  const clock = `${Math.floor(rest / 3600)}:${String(Math.floor((rest % 3600) / 60)).padStart(2, '0')}:${String(rest % 60).padStart(2, '0')}`;
  if (days === 0) return clock;
  return `${days} day${days === 1 ? '' : 's'}, ${clock}`;
}

/** `strftime('%b %d %I:%M %p')` in the daemon's local time zone: `Nov 22 04:30 AM`. */
export function formatStopTime(unixSeconds: number): string {
  const date = new Date(unixSeconds * 1000);
  const hours24 = date.getHours();
  const hours12 = hours24 % 12 === 0 ? 12 : hours24 % 12;
  const pad = (n: number): string => String(n).padStart(2, '0');
  return `${MONTHS[date.getMonth()] ?? '???'} ${pad(date.getDate())} ${pad(hours12)}:${pad(date.getMinutes())} ${hours24 < 12 ? 'AM' : 'PM'}`;
}

/** The `status` description supervisord computes (rpcinterface._interpretProcessInfo); the only implementation. */
export function describeProcess(info: ProcessInfo): string {
  switch (info.state) {
    case ProcessState.RUNNING:
      // Both ends truncated to whole seconds first, as supervisord does with gmtime().
      return `pid ${info.pid}, uptime ${formatUptime(Math.floor(info.now) - Math.floor(info.start))}`;
    case ProcessState.FATAL:
    case ProcessState.BACKOFF:
      return info.spawnerr !== '' ? info.spawnerr : `unknown error (try "tail ${info.name}")`;
    case ProcessState.STOPPED:
    case ProcessState.EXITED:
      return info.start !== 0 ? formatStopTime(info.stop) : 'Not started';
    default:
      return '';
  }
}

function processStateName(state: ProcessState): string {
  return ProcessState[state] ?? 'UNKNOWN';
}

export function processInfoStruct(info: ProcessInfo): XmlRpcValue {
  const start = Math.floor(info.start);
  const stop = Math.floor(info.stop);
  const now = Math.floor(info.now);
  return {
    name: info.name,
    group: info.group,
    start,
    stop,
    now,
    state: info.state,
    statename: processStateName(info.state),
    spawnerr: info.spawnerr,
    exitstatus: info.exitstatus,
    logfile: info.stdoutLogfile,
    stdout_logfile: info.stdoutLogfile,
    stderr_logfile: info.stderrLogfile,
    pid: info.pid,
    description: describeProcess({ ...info, start, stop, now }),
  };
}
