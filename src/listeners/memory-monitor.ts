// The memory monitor: superlance memmon's job. Every `intervalMs` it reads the resident memory of each
// RUNNING program that has a limit (from /proc, with its descendants under -c), and restarts through
// supervisord's XML-RPC a program whose memory stayed above its limit for `sustainSamples` samples in a
// row. A program that comes back over its limit soon after a restart is not restarted in a tight loop:
// each further restart inside `backoffWindowMs` waits twice as long as the one before (up to a maximum).
import { readdirSync, readFileSync } from 'node:fs';
import type { ListenerLog } from './main-support.js';
import { namespec } from './payload.js';
import type { SupervisorApi, WireProcessInfo } from './rpc.js';
import { formatBytes } from './sizes.js';

const RUNNING = 20;

export interface MemoryLimits {
  /** `name` or `group:name` → bytes (-p). */
  programs: Map<string, number>;
  /** group → bytes (-g). */
  groups: Map<string, number>;
  /** Every program (-a), or null. */
  any: number | null;
  /** Count the program's descendants too (-c). */
  children: boolean;
}

export interface MonitorTiming {
  intervalMs: number;
  sustainSamples: number;
  /** The wait before the second restart inside the window; doubled for each further one. */
  backoffBaseMs: number;
  backoffMaxMs: number;
  /** A restart further than this from the previous one starts the count again. */
  backoffWindowMs: number;
}

export const DEFAULT_TIMING: MonitorTiming = {
  intervalMs: 1000,
  sustainSamples: 2,
  backoffBaseMs: 10_000,
  backoffMaxMs: 300_000,
  backoffWindowMs: 600_000,
};

/** Resident bytes of `pid` (VmRSS), or null when it is gone. */
export function residentBytes(pid: number): number | null {
  try {
    const match = /^VmRSS:\s+(\d+)\s+kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return match?.[1] === undefined ? 0 : Number(match[1]) * 1024;
  } catch {
    return null;
  }
}

/** The pids of every descendant of `pid`, from the ppid field of /proc/<pid>/stat. */
export function descendants(pid: number): number[] {
  const parentOf = new Map<number, number[]>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
    } catch {
      continue;
    }
    // `pid (comm) state ppid ...`: comm may hold spaces and parentheses, so read after the last ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const ppid = Number(fields[1]);
    const list = parentOf.get(ppid) ?? [];
    list.push(Number(entry));
    parentOf.set(ppid, list);
  }
  const found: number[] = [];
  const stack = [pid];
  while (stack.length > 0) {
    const next = stack.pop() ?? 0;
    for (const child of parentOf.get(next) ?? []) {
      found.push(child);
      stack.push(child);
    }
  }
  return found;
}

export function processTreeBytes(pid: number, children: boolean): number | null {
  const own = residentBytes(pid);
  if (own === null || !children) return own;
  return descendants(pid).reduce((sum, child) => sum + (residentBytes(child) ?? 0), own);
}

export function limitFor(limits: MemoryLimits, info: Pick<WireProcessInfo, 'name' | 'group'>): number | null {
  return limits.programs.get(namespec(info.name, info.group)) ?? limits.programs.get(info.name) ?? limits.groups.get(info.group) ?? limits.any;
}

interface ProgramWatch {
  overSamples: number;
  restarting: boolean;
  lastRestart: number;
  /** Restarts inside the backoff window, this one included. */
  streak: number;
  notBefore: number;
  deferralLogged: boolean;
}

export class MemoryMonitor {
  readonly restarts: { program: string; rss: number; limit: number; at: number }[] = [];
  private readonly watches = new Map<string, ProgramWatch>();
  private checking = false;

  constructor(
    private readonly api: SupervisorApi,
    private readonly limits: MemoryLimits,
    private readonly log: ListenerLog,
    private readonly timing: MonitorTiming = DEFAULT_TIMING,
    private readonly measure: (pid: number, children: boolean) => number | null = processTreeBytes,
    private readonly now: () => number = Date.now,
  ) {}

  /** One sample of every limited program; overlapping calls are skipped. */
  async check(): Promise<void> {
    if (this.checking) return;
    this.checking = true;
    try {
      for (const info of await this.api.allProcessInfo()) {
        const limit = limitFor(this.limits, info);
        if (limit === null) continue;
        const program = namespec(info.name, info.group);
        const watch = this.watch(program);
        if (watch.restarting) continue;
        const rss = info.state === RUNNING && info.pid > 0 ? this.measure(info.pid, this.limits.children) : null;
        if (rss === null || rss <= limit) {
          watch.overSamples = 0;
          watch.deferralLogged = false;
          continue;
        }
        watch.overSamples += 1;
        if (watch.overSamples >= this.timing.sustainSamples) this.restartWhenAllowed(program, info.pid, rss, limit, watch);
      }
    } finally {
      this.checking = false;
    }
  }

  private watch(program: string): ProgramWatch {
    let watch = this.watches.get(program);
    if (watch === undefined) {
      watch = { overSamples: 0, restarting: false, lastRestart: 0, streak: 0, notBefore: 0, deferralLogged: false };
      this.watches.set(program, watch);
    }
    return watch;
  }

  private restartWhenAllowed(program: string, pid: number, rss: number, limit: number, watch: ProgramWatch): void {
    const now = this.now();
    const figure = `${program} (pid ${pid}) resident memory ${formatBytes(rss)} above its limit ${formatBytes(limit)}`;
    if (now < watch.notBefore) {
      if (!watch.deferralLogged) {
        watch.deferralLogged = true;
        this.log('WARN', `${figure}; restart ${watch.streak + 1} in a row, waiting ${Math.ceil((watch.notBefore - now) / 1000)}s before it (backoff)`);
      }
      return;
    }
    watch.streak = watch.lastRestart !== 0 && now - watch.lastRestart < this.timing.backoffWindowMs ? watch.streak + 1 : 1;
    watch.lastRestart = now;
    // The wait before the *next* restart, should the program be back over its limit within the window.
    watch.notBefore = now + Math.min(this.timing.backoffMaxMs, this.timing.backoffBaseMs * 2 ** (watch.streak - 1));
    watch.overSamples = 0;
    watch.deferralLogged = false;
    watch.restarting = true;
    this.restarts.push({ program, rss, limit, at: now });
    this.log('WARN', `restarting ${figure}`);
    this.restart(program)
      .then(() => this.log('INFO', `restarted ${program}`))
      .catch((error: unknown) => this.log('ERRO', `restart of ${program} failed: ${error instanceof Error ? error.message : String(error)}`))
      .finally(() => {
        watch.restarting = false;
      });
  }

  private async restart(program: string): Promise<void> {
    try {
      await this.api.stopProcess(program);
    } catch (error) {
      // NOT_RUNNING (70): it died meanwhile; start it anyway.
      if (!(error instanceof Error && /NOT_RUNNING|\b70\b/.test(error.message))) throw error;
    }
    await this.api.startProcess(program);
  }
}
