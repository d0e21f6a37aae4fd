import { pino, type Logger, type LoggerOptions, type DestinationStream } from 'pino';

export type { Logger };

export interface LoggerSettings {
  name: string;
  level: string;
  /** Extra file to append JSON lines to (e.g. logs/task_processor.log), besides stdout. */
  file?: string | undefined;
  /** Readable lines instead of JSON; defaults to true when stdout is a terminal. */
  pretty?: boolean | undefined;
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

/**
 * JSON lines in production (stdout is a pipe under supervisord or docker), readable lines when a
 * person runs the program in a terminal.
 */
export function createLogger(settings: LoggerSettings): Logger {
  const options: LoggerOptions = {
    name: settings.name,
    level: settings.level,
    redact: { paths: REDACTED_PATHS, censor: '[redacted]' },
    base: { pid: process.pid },
  };
  const pretty = settings.pretty ?? process.stdout.isTTY === true;
  const streams: { level: string; stream: DestinationStream }[] = [];
  streams.push({
    level: settings.level,
    stream: pretty
      ? pino.transport({ target: 'pino-pretty', options: { colorize: true, translateTime: 'SYS:HH:MM:ss.l' } })
      : pino.destination({ fd: 1, sync: false }),
  });
  if (settings.file) {
    streams.push({ level: settings.level, stream: pino.destination({ dest: settings.file, mkdir: true, sync: false }) });
  }
  return pino(options, pino.multistream(streams));
}
