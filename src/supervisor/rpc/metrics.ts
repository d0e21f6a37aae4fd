// Prometheus text exposition (format 0.0.4) of supervisord and its processes, served at GET /metrics
// behind the same credentials as /RPC2. Hand-written: supervisord stays small (no prom-client loaded),
// and everything here is computed at scrape time from the live state, so it costs nothing between scrapes.
import { readFileSync } from 'node:fs';
import { ProcessState, SupervisordState, SUPERVISOR_VERSION, type ProcessInfo, type SupervisorControl } from '../types.js';

export const METRICS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

const PROCESS_STATES = Object.entries(ProcessState).filter((entry): entry is [string, ProcessState] => typeof entry[1] === 'number');

/** VmRSS of a pid in bytes, 0 when it is gone (or no /proc). */
export function residentBytes(pid: number): number {
  if (pid <= 0) return 0;
  try {
    const match = /^VmRSS:\s+(\d+)\s+kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return match?.[1] === undefined ? 0 : Number(match[1]) * 1024;
  } catch {
    return 0;
  }
}

/** A label value escaped as the exposition format wants (backslash, quote, newline). */
function labelValue(text: string): string {
  return text.replaceAll('\\', '\\\\').replaceAll('"', '\\"').replaceAll('\n', '\\n');
}

class Exposition {
  private readonly lines: string[] = [];

  family(name: string, type: 'gauge' | 'counter', help: string, samples: [labels: Record<string, string>, value: number][]): void {
    this.lines.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);
    for (const [labels, value] of samples) {
      const pairs = Object.entries(labels).map(([key, text]) => `${key}="${labelValue(text)}"`);
      this.lines.push(`${name}${pairs.length === 0 ? '' : `{${pairs.join(',')}}`} ${Number.isFinite(value) ? String(value) : 'NaN'}`);
    }
  }

  text(): string {
    return `${this.lines.join('\n')}\n`;
  }
}

function namespecOf(info: ProcessInfo): string {
  return info.group === info.name ? info.name : `${info.group}:${info.name}`;
}

export function renderMetrics(control: SupervisorControl, now = Date.now()): string {
  const out = new Exposition();
  const state = control.state();
  out.family('supervisord_info', 'gauge', 'Constant 1, labelled with the supervisor version and identification.', [
    [{ version: SUPERVISOR_VERSION, identification: control.identification }, 1],
  ]);
  out.family('supervisord_state', 'gauge', 'supervisord state code as getState: 2 FATAL, 1 RUNNING, 0 RESTARTING, -1 SHUTDOWN.', [[{}, state]]);
  out.family('supervisord_running', 'gauge', '1 while supervisord is RUNNING.', [[{}, state === SupervisordState.RUNNING ? 1 : 0]]);
  out.family('supervisord_uptime_seconds', 'gauge', 'Seconds since supervisord started.', [[{}, Math.round(process.uptime() * 1000) / 1000]]);
  out.family('supervisord_resident_memory_bytes', 'gauge', 'Resident memory of supervisord itself.', [[{}, process.memoryUsage.rss()]]);
  const cpu = process.cpuUsage();
  out.family('supervisord_cpu_seconds_total', 'counter', 'CPU time of supervisord itself (user + system).', [[{}, (cpu.user + cpu.system) / 1e6]]);

  const processes = control.processes();
  const label = (info: ProcessInfo): Record<string, string> => ({ name: namespecOf(info), group: info.group });
  out.family(
    'supervisor_process_state',
    'gauge',
    'Process state: 1 for the state the process is in, 0 for the others.',
    processes.flatMap((info) => PROCESS_STATES.map(([name, code]): [Record<string, string>, number] => [{ ...label(info), state: name }, info.state === code ? 1 : 0])),
  );
  out.family('supervisor_process_up', 'gauge', '1 while the process is RUNNING.', processes.map((info) => [label(info), info.state === ProcessState.RUNNING ? 1 : 0]));
  const counters = processes.map((info) => ({ info, counts: control.processCounters?.(namespecOf(info)) ?? { starts: 0, exits: { expected: 0, unexpected: 0, stopped: 0 } } }));
  out.family('supervisor_process_starts_total', 'counter', 'Times the process was spawned (automatic restarts included).', counters.map(({ info, counts }) => [label(info), counts.starts]));
  out.family(
    'supervisor_process_exits_total',
    'counter',
    'Process exits: expected (status in exitcodes), unexpected (other status, or exited before startsecs), stopped (asked to stop).',
    counters.flatMap(({ info, counts }) =>
      (['expected', 'unexpected', 'stopped'] as const).map((reason): [Record<string, string>, number] => [{ ...label(info), reason }, counts.exits[reason]]),
    ),
  );
  out.family(
    'supervisor_process_uptime_seconds',
    'gauge',
    'Seconds since the process was spawned, while it runs (0 otherwise).',
    processes.map((info) => [label(info), info.state === ProcessState.RUNNING && info.start > 0 ? Math.max(0, Math.floor(now / 1000) - info.start) : 0]),
  );
  out.family(
    'supervisor_process_resident_memory_bytes',
    'gauge',
    'Resident memory of the process (not its children), 0 when it has no pid.',
    processes.map((info) => [label(info), residentBytes(info.pid)]),
  );
  return out.text();
}
