// The crash notice: superlance crashmail's job, to a webhook. On PROCESS_STATE_EXITED with expected:0
// (an unexpected exit) or PROCESS_STATE_FATAL, it POSTs a notice with the program's last stderr lines.
// The event is acknowledged at once; delivery happens behind it, retried with exponential backoff, so a
// slow or failing webhook never holds supervisord's events back. At most `maxPending` notices wait.
import { hostname } from 'node:os';
import type { ListenerLog } from './main-support.js';
import type { EventResult, ListenerEvent } from './protocol.js';
import { namespec, parseProcessState, stateOfEvent } from './payload.js';
import type { SupervisorApi } from './rpc.js';

export const NOTICE_FORMATS = ['plain', 'feishu', 'dingtalk', 'slack'] as const;
export type NoticeFormat = (typeof NOTICE_FORMATS)[number];

export interface CrashNoticeBody {
  program: string;
  group: string;
  state: 'EXITED' | 'FATAL';
  from_state: string;
  /** The exit status supervisord recorded (null when it could not be asked, or for FATAL without one). */
  exit_status: number | null;
  pid: number | null;
  expected: false;
  stderr_tail: string[];
  host: string;
  time: string;
}

export interface CrashNoticeOptions {
  url: string;
  format: NoticeFormat;
  /** Attempts per notice (the first included). */
  attempts: number;
  retryBaseMs: number;
  retryMaxMs: number;
  timeoutMs: number;
  stderrLines: number;
  maxPending: number;
  host?: string;
}

function summary(notice: CrashNoticeBody): string {
  const status = notice.exit_status === null ? '' : `, exit status ${notice.exit_status}`;
  const head = `[${notice.host}] ${notice.program} ${notice.state === 'FATAL' ? 'entered FATAL (gave up starting it)' : 'exited unexpectedly'}${status} at ${notice.time}`;
  return notice.stderr_tail.length === 0 ? head : `${head}\nlast stderr lines:\n${notice.stderr_tail.join('\n')}`;
}

/** The body in the shape the webhook expects: our JSON, or a chat bot's text message. */
export function noticeBody(format: NoticeFormat, notice: CrashNoticeBody): unknown {
  switch (format) {
    case 'plain':
      return notice;
    case 'feishu': // Feishu/Lark custom bot
      return { msg_type: 'text', content: { text: summary(notice) } };
    case 'dingtalk': // DingTalk custom robot
      return { msgtype: 'text', text: { content: summary(notice) } };
    case 'slack': // Slack incoming webhook
      return { text: summary(notice) };
  }
}

export class CrashNotifier {
  readonly stats = { sent: 0, failed: 0, attempts: 0, dropped: 0 };
  private pending = 0;
  private idleWaiters: (() => void)[] = [];

  constructor(
    private readonly options: CrashNoticeOptions,
    private readonly api: SupervisorApi | null,
    private readonly log: ListenerLog,
  ) {}

  handle(event: ListenerEvent): EventResult {
    const state = stateOfEvent(event.header.eventname);
    if (state !== 'EXITED' && state !== 'FATAL') return 'OK';
    const payload = parseProcessState(event.payload);
    if (state === 'EXITED' && payload.expected !== false) return 'OK';
    if (this.pending >= this.options.maxPending) {
      this.stats.dropped += 1;
      this.log('WARN', `${this.pending} notices still being delivered: notice for ${payload.processname} dropped`);
      return 'OK';
    }
    this.pending += 1;
    const time = new Date().toISOString();
    this.deliver(state, payload.processname, payload.groupname, payload.from_state, payload.pid, time)
      .catch((error: unknown) => this.log('ERRO', `notice failed: ${error instanceof Error ? error.message : String(error)}`))
      .finally(() => {
        this.pending -= 1;
        if (this.pending === 0) for (const resolve of this.idleWaiters.splice(0)) resolve();
      });
    return 'OK';
  }

  /** Resolves when no notice is being delivered. */
  idle(): Promise<void> {
    if (this.pending === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  private async details(program: string): Promise<{ exitStatus: number | null; stderrTail: string[] }> {
    if (this.api === null) return { exitStatus: null, stderrTail: [] };
    let exitStatus: number | null = null;
    let stderrTail: string[] = [];
    try {
      exitStatus = (await this.api.processInfo(program)).exitstatus;
    } catch (error) {
      this.log('WARN', `getProcessInfo(${program}): ${error instanceof Error ? error.message : String(error)}`);
    }
    try {
      // Enough bytes for the lines wanted; the first, probably cut, line is left out.
      const text = await this.api.tailStderr(program, this.options.stderrLines * 400);
      const lines = text.split('\n');
      if (lines.at(-1) === '') lines.pop();
      if (text.length >= this.options.stderrLines * 400) lines.shift();
      stderrTail = lines.slice(-this.options.stderrLines);
    } catch (error) {
      // NO_FILE when the program has no stderr log: the notice goes without it.
      this.log('WARN', `tailProcessStderrLog(${program}): ${error instanceof Error ? error.message : String(error)}`);
    }
    return { exitStatus, stderrTail };
  }

  private async deliver(state: 'EXITED' | 'FATAL', name: string, group: string, fromState: string, pid: number, time: string): Promise<void> {
    const program = namespec(name, group);
    const { exitStatus, stderrTail } = await this.details(program);
    const notice: CrashNoticeBody = {
      program,
      group,
      state,
      from_state: fromState,
      exit_status: state === 'FATAL' && exitStatus === 0 ? null : exitStatus,
      pid: pid === 0 ? null : pid,
      expected: false,
      stderr_tail: stderrTail,
      host: this.options.host ?? hostname(),
      time,
    };
    const body = JSON.stringify(noticeBody(this.options.format, notice));
    for (let attempt = 1; ; attempt += 1) {
      this.stats.attempts += 1;
      const failure = await this.post(body);
      if (failure === null) {
        this.stats.sent += 1;
        this.log('INFO', `crash notice for ${program} (${state}) delivered${attempt > 1 ? ` on attempt ${attempt}` : ''}`);
        return;
      }
      if (attempt >= this.options.attempts) {
        this.stats.failed += 1;
        this.log('ERRO', `crash notice for ${program} (${state}) not delivered after ${attempt} attempts: ${failure}`);
        return;
      }
      const waitMs = Math.min(this.options.retryMaxMs, this.options.retryBaseMs * 2 ** (attempt - 1));
      this.log('WARN', `crash notice for ${program}: attempt ${attempt} failed (${failure}), retrying in ${waitMs}ms`);
      await new Promise((resolve) => setTimeout(resolve, waitMs));
    }
  }

  /** null when the webhook took it (2xx), else why not. */
  private async post(body: string): Promise<string | null> {
    try {
      const response = await fetch(this.options.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body,
        signal: AbortSignal.timeout(this.options.timeoutMs),
      });
      await response.arrayBuffer();
      return response.ok ? null : `HTTP ${response.status}`;
    } catch (error) {
      return error instanceof Error ? error.message : String(error);
    }
  }
}
