// One row of the console's process table: what supervisord 4.2.5's status page shows (state, description,
// name, the actions the state allows) and what ours adds (restarts, resident memory). Rendered on the
// page and served as JSON to the page's live refresh, from this one function.
import { describeProcess } from '../rpc/process-info.js';
import { residentBytes } from '../rpc/metrics.js';
import { makeNamespec } from '../protocol.js';
import { ProcessState, type ProcessInfo, type SupervisorControl } from '../types.js';

export interface ConsoleAction {
  /** The link text, as supervisord's. */
  name: 'Start' | 'Restart' | 'Stop' | 'Clear Log' | 'Tail -f Stdout' | 'Tail -f Stderr';
  href: string;
  /** The tails open in a new tab, as supervisord's. */
  newTab: boolean;
}

export interface ConsoleRow {
  namespec: string;
  /** Lower-case state name, as the page shows it: `running`. */
  status: string;
  state: number;
  /** `statusrunning` / `statuserror` / `statusnominal`, supervisord's classes. */
  statusClass: 'statusrunning' | 'statuserror' | 'statusnominal';
  description: string;
  /** Spawns after the first (automatic restarts and manual ones), null when the daemon does not count them. */
  restarts: number | null;
  /** Resident memory of the process, 0 without a pid. */
  residentBytes: number;
  /** Five slots like supervisord's (a null slot keeps its place empty). */
  actions: (ConsoleAction | null)[];
}

/** Python's `urllib.quote` (safe `/`), which supervisord applies to names in links. */
export function pythonQuote(text: string): string {
  return encodeURIComponent(text).replace(/%2F/g, '/').replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

function statusClass(state: ProcessState): ConsoleRow['statusClass'] {
  if (state === ProcessState.RUNNING) return 'statusrunning';
  if (state === ProcessState.FATAL || state === ProcessState.BACKOFF) return 'statuserror';
  return 'statusnominal';
}

function actionsFor(state: ProcessState, namespec: string): ConsoleRow['actions'] {
  const quoted = pythonQuote(namespec);
  const act = (name: ConsoleAction['name'], action: string): ConsoleAction => ({
    name,
    href: `index.html?processname=${quoted}&action=${action}`,
    newTab: false,
  });
  const tails: ConsoleAction[] = [
    { name: 'Tail -f Stdout', href: `logtail/${quoted}`, newTab: true },
    { name: 'Tail -f Stderr', href: `logtail/${quoted}/stderr`, newTab: true },
  ];
  const clear = act('Clear Log', 'clearlog');
  if (state === ProcessState.RUNNING) return [act('Restart', 'restart'), act('Stop', 'stop'), clear, ...tails];
  if (state === ProcessState.STOPPED || state === ProcessState.EXITED || state === ProcessState.FATAL) return [act('Start', 'start'), null, clear, ...tails];
  return [null, null, clear, ...tails];
}

/** Python's tuple sort of (group, name): code-point order, as supervisord lists them. */
function byGroupThenName(a: ProcessInfo, b: ProcessInfo): number {
  if (a.group !== b.group) return a.group < b.group ? -1 : 1;
  return a.name < b.name ? -1 : a.name > b.name ? 1 : 0;
}

export function consoleRows(control: SupervisorControl): ConsoleRow[] {
  return [...control.processes()].sort(byGroupThenName).map((info) => {
    const namespec = makeNamespec(info.group, info.name);
    const counters = control.processCounters?.(namespec);
    return {
      namespec,
      status: (ProcessState[info.state] ?? 'UNKNOWN').toLowerCase(),
      state: info.state,
      statusClass: statusClass(info.state),
      // Whole seconds first, as getProcessInfo does before describing.
      description: describeProcess({ ...info, start: Math.floor(info.start), stop: Math.floor(info.stop), now: Math.floor(info.now) }),
      restarts: counters === undefined ? null : Math.max(0, counters.starts - 1),
      residentBytes: residentBytes(info.pid),
      actions: actionsFor(info.state, namespec),
    };
  });
}

/** `12.3 MiB`; an empty string for 0 (no process). */
export function formatBytes(bytes: number): string {
  if (bytes <= 0) return '';
  const units = ['B', 'KiB', 'MiB', 'GiB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${unit === 0 ? String(value) : value.toFixed(1)} ${units[unit] ?? ''}`;
}
