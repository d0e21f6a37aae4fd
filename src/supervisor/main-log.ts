// supervisord's own log: `2026-12-01 18:00:00,123 INFO spawned: 'api' with pid 10`, local time,
// to `logfile` (rotated like child logs) and, with nodaemon and not silent, to stdout as well.
import { SyncRotatingFile } from './rotating-file.js';
import type { SupervisordSection } from './types.js';

export type MainLogLevel = SupervisordSection['loglevel'];

/** supervisord's numeric levels (supervisor/loggers.py LevelsByName) and their 4-letter tags. */
const LEVELS: Record<MainLogLevel, { value: number; tag: string }> = {
  critical: { value: 50, tag: 'CRIT' },
  error: { value: 40, tag: 'ERRO' },
  warn: { value: 30, tag: 'WARN' },
  info: { value: 20, tag: 'INFO' },
  debug: { value: 10, tag: 'DEBG' },
  trace: { value: 5, tag: 'TRAC' },
  blather: { value: 3, tag: 'BLAT' },
};

const pad = (n: number, width = 2): string => String(n).padStart(width, '0');

function formatTimestamp(date: Date): string {
  return (
    `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())} ` +
    `${pad(date.getHours())}:${pad(date.getMinutes())}:${pad(date.getSeconds())},${pad(date.getMilliseconds(), 3)}`
  );
}

export interface MainLogOptions {
  level: MainLogLevel;
  /** null = NONE. */
  file: string | null;
  maxBytes: number;
  backups: number;
  /** Echo every line to stdout (nodaemon and not silent). */
  toStdout: boolean;
  /** Extra sink, for tests that watch the log in-process. */
  onLine?: (line: string) => void;
}

export class MainLog {
  private readonly threshold: number;
  private readonly file: SyncRotatingFile | null;

  constructor(private readonly options: MainLogOptions) {
    this.threshold = LEVELS[options.level].value;
    this.file = options.file === null ? null : new SyncRotatingFile(options.file, options.maxBytes, options.backups);
  }

  get path(): string | null {
    return this.options.file;
  }

  enabled(level: MainLogLevel): boolean {
    return LEVELS[level].value >= this.threshold;
  }

  log(level: MainLogLevel, message: string): void {
    if (!this.enabled(level)) return;
    const line = `${formatTimestamp(new Date())} ${LEVELS[level].tag} ${message}\n`;
    try {
      this.file?.write(line);
    } catch (error) {
      // A full disk must not take supervisord (and every child) down with it.
      process.stderr.write(`supervisord: cannot write ${this.options.file}: ${(error as Error).message}\n`);
    }
    if (this.options.toStdout) process.stdout.write(line);
    this.options.onLine?.(line);
  }

  critical(message: string): void {
    this.log('critical', message);
  }
  error(message: string): void {
    this.log('error', message);
  }
  warn(message: string): void {
    this.log('warn', message);
  }
  info(message: string): void {
    this.log('info', message);
  }
  debug(message: string): void {
    this.log('debug', message);
  }
  trace(message: string): void {
    this.log('trace', message);
  }
  blather(message: string): void {
    this.log('blather', message);
  }

  reopen(): void {
    this.file?.reopen();
  }

  close(): void {
    this.file?.close();
  }
}
