import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { pino, type Logger, type LoggerOptions, type DestinationStream, type LogFn } from 'pino';
import { z } from 'zod';
import { SyncRotatingFile } from '../supervisor/index.js';
import { parseEnv } from './env.js';
import { catalogueMessage, LOG_LANGUAGES, type LogLanguage } from './messages.js';

export type { Logger };
export type { LogLanguage };

export interface LoggerSettings {
  name: string;
  level: string;
  /** Extra file to append JSON lines to (e.g. logs/task_processor.log), besides stdout. */
  file?: string | undefined;
  /** Size at which `file` rotates (0: never) and how many backups it keeps, as supervisord's logs do. */
  fileMaxBytes?: number | undefined;
  fileBackups?: number | undefined;
  /** Readable lines instead of JSON; defaults to true when stdout is a terminal. */
  pretty?: boolean | undefined;
  /** Language of the messages of catalogued events (src/shared/messages.ts); default LOG_LANGUAGE, else zh. */
  language?: LogLanguage | undefined;
  /**
   * Events written to stderr too whatever their level: a program's start, so that `supervisorctl tail
   * <program> stderr` shows each (re)start among the problems (the guide counts restarts there).
   */
  stderrEvents?: readonly string[] | undefined;
}

/** Keys whose values never reach a log line, wherever they appear. */
export const REDACTED_PATHS = [
  'apiKey',
  '*.apiKey',
  'req.headers.authorization',
  'headers.authorization',
  'authorization',
  '*.authorization',
  'password',
  '*.password',
];

const languageEnvSchema = z.object({ LOG_LANGUAGE: z.enum(LOG_LANGUAGES).default('zh') });

/** LOG_LANGUAGE of `env` (zh when unset); a wrong value is a ConfigError naming the variable. */
export function logLanguageFromEnv(env: NodeJS.ProcessEnv = process.env): LogLanguage {
  return parseEnv(languageEnvSchema, env).LOG_LANGUAGE;
}

/** Default size and backups of a program's own log file (supervisord.conf's child logs: 10MB / 5). */
export const LOG_FILE_DEFAULTS = { maxBytes: 10 * 1024 * 1024, backups: 5 } as const;

const openFiles = new Set<SyncRotatingFile>();

function reopenLogFiles(): void {
  for (const file of openFiles) {
    try {
      file.reopen();
    } catch (error) {
      process.stderr.write(`cannot reopen ${file.path}: ${error instanceof Error ? error.message : String(error)}\n`);
    }
  }
}

/**
 * Opens `filePath` for appending with size rotation; on SIGUSR2 the file is reopened by name (after an
 * external logrotate moved it), as supervisord does with its logs. Returns the error instead of
 * throwing when the file cannot be opened (e.g. EACCES on a file another user left behind).
 */
function openLogFile(filePath: string, maxBytes: number, backups: number): DestinationStream | Error {
  let file: SyncRotatingFile;
  try {
    mkdirSync(path.dirname(filePath), { recursive: true });
    file = new SyncRotatingFile(filePath, maxBytes, backups);
  } catch (error) {
    return error instanceof Error ? error : new Error(String(error));
  }
  if (openFiles.size === 0) process.on('SIGUSR2', reopenLogFiles);
  openFiles.add(file);
  return {
    write(line: string): void {
      try {
        file.write(line);
      } catch {
        // A full disk or a deleted folder must not stop the program; stdout still has the line.
      }
    },
  };
}

/** A JSON line of pino's below warn (40): trace 10, debug 20, info 30. */
const BELOW_WARN = /^\{"level":[1-3]\d[,}]/;

/**
 * JSON lines in production (stdout is a pipe under supervisord or docker), readable lines when a
 * person runs the program in a terminal. Every line goes to stdout; warnings and errors also go to
 * stderr (supervisord's `*.err.log`, `supervisorctl tail <program> stderr`), except in a terminal, where
 * both are the same screen. A catalogued `event` sets the message in the configured language.
 */
export function createLogger(settings: LoggerSettings): Logger {
  const language = settings.language ?? logLanguageFromEnv();
  const options: LoggerOptions = {
    name: settings.name,
    level: settings.level,
    redact: { paths: REDACTED_PATHS, censor: '[redacted]' },
    base: { pid: process.pid },
    hooks: {
      logMethod(this: Logger, args: Parameters<LogFn>, method: LogFn): void {
        const [first] = args;
        if (typeof first === 'object' && first !== null && !(first instanceof Error)) {
          const message = catalogueMessage(first as Record<string, unknown>, language);
          if (message !== undefined) {
            method.call(this, first, message);
            return;
          }
        }
        method.apply(this, args);
      },
    },
  };
  const pretty = settings.pretty ?? process.stdout.isTTY === true;
  const streams: { level: string; stream: DestinationStream }[] = [];
  streams.push({
    level: settings.level,
    stream: pretty
      ? pino.transport({ target: 'pino-pretty', options: { colorize: true, translateTime: 'SYS:HH:MM:ss.l' } })
      : pino.destination({ fd: 1, sync: false }),
  });
  if (!pretty) {
    const stderr = pino.destination({ fd: 2, sync: false });
    streams.push({ level: 'warn', stream: stderr });
    // Below warn only (warnings are on stderr already): a line of one of these events.
    const marks = (settings.stderrEvents ?? []).map((event) => `"event":${JSON.stringify(event)}`);
    if (marks.length > 0) {
      streams.push({
        level: settings.level,
        stream: {
          write(line: string): void {
            if (BELOW_WARN.test(line) && marks.some((mark) => line.includes(mark))) stderr.write(line);
          },
        },
      });
    }
  }
  let fileProblem: Error | undefined;
  if (settings.file) {
    const file = openLogFile(
      settings.file,
      settings.fileMaxBytes ?? LOG_FILE_DEFAULTS.maxBytes,
      settings.fileBackups ?? LOG_FILE_DEFAULTS.backups,
    );
    if (file instanceof Error) fileProblem = file;
    else streams.push({ level: settings.level, stream: file });
  }
  const logger = pino(options, pino.multistream(streams));
  // The program keeps working (its lines still reach stdout and supervisord's logs); one warning says
  // why the file is missing, on stderr too.
  if (fileProblem) logger.warn({ event: 'logger.file_unavailable', file: settings.file, err: fileProblem.message });
  return logger;
}
