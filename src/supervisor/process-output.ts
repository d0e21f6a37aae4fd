// A child's stdout/stderr as supervisord's output dispatchers (dispatchers.py) handle it: into its log
// file, the main log at debug, and the event system (PROCESS_LOG events, capture mode, an event
// listener's protocol).
import nodeProcess from 'node:process';
import type { Readable } from 'node:stream';
import { CaptureRecorder, Utf8Chunks, type Channel, type OutputFlow } from './events/index.js';
import type { ManagedProcess, ProcessHost } from './process.js';
import type { RotatingLogFile } from './rotating-file.js';
import { pyRepr } from './spawn.js';
import { outputRead } from './output-garbage.js';

/** supervisord's stripEscapes: from `ESC[` to the first of its terminator letters. */
// eslint-disable-next-line no-control-regex -- ESC (\x1b) is the character this matches
const ANSI_ESCAPE = /\x1b\[[^HfABCDRsuJKhlpm]*[HfABCDRsuJKhlpm]/g;

function stripAnsiEscapes(chunk: Buffer): Buffer {
  if (!chunk.includes(0x1b)) return chunk;
  // latin1 maps bytes 1:1, so multi-byte UTF-8 text survives untouched.
  return Buffer.from(chunk.toString('latin1').replace(ANSI_ESCAPE, ''), 'latin1');
}

export interface OutputSource {
  process: ManagedProcess;
  host: ProcessHost;
  /** The pid of the child that wrote it, even if its exit is handled before its last output is read. */
  pid: number;
  stream: Readable;
  file: RotatingLogFile | null;
  channel: Channel;
  /** False once the child is reaped: its late output belongs to no listener protocol exchange. */
  isCurrent: () => boolean;
}

/**
 * Child pipe → log file (and events); the pipe is paused while the file is behind or an event
 * listener pool is (it holds the flow), so memory stays bounded. An event listener's stdout also
 * feeds the listener protocol, capture mode splits out what is between the tokens, and with
 * `*_events_enabled` what is logged becomes PROCESS_LOG events.
 */
export function readOutput({ process, host, pid, stream, file, channel, isCurrent }: OutputSource): void {
  const log = host.log;
  const events = host.outputEvents;
  const config = process.config;
  const name = config.name;
  const target = config[channel];
  // A pass-through target read only for events: we copy it to our own stdout/stderr.
  const passThrough = target.kind === 'inherit' ? (target.fd === 1 ? nodeProcess.stdout : nodeProcess.stderr) : null;
  // The pipe is read only while nobody holds it: the log file behind, or pools of listeners behind.
  const holders = new Set<object>();
  const flow: OutputFlow = {
    hold(holder) {
      if (holders.size === 0) stream.pause();
      holders.add(holder);
    },
    release(holder) {
      if (holders.delete(holder) && holders.size === 0) stream.resume();
    },
  };
  const fileBehind = {};
  const write = (data: Buffer): void => {
    if (file) {
      if (!file.write(data) && !holders.has(fileBehind)) {
        flow.hold(fileBehind);
        file.once('drain', () => flow.release(fileBehind));
      }
    } else if (passThrough) {
      passThrough.write(data);
    }
  };
  const eventsEnabled = events !== undefined && (channel === 'stdout' ? config.stdoutEventsEnabled : config.stderrEventsEnabled) === true;
  // Carries a UTF-8 character cut between two reads over to the next event.
  const decoder = eventsEnabled ? new Utf8Chunks() : null;
  /** supervisord's _log: file (unless capturing), main log at debug, PROCESS_LOG event. */
  const logOutput = (raw: Buffer, toFile: boolean): Buffer => {
    const chunk = host.stripAnsi ? stripAnsiEscapes(raw) : raw;
    if (toFile) write(chunk);
    if (log.enabled('debug')) log.debug(`${pyRepr(name)} ${channel} output:\n${chunk.toString()}`);
    if (decoder !== null && events !== undefined) {
      const text = decoder.push(chunk);
      if (text !== null) events.logged(process, pid, channel, text, flow);
    }
    return chunk;
  };

  let onData: (raw: Buffer) => void;
  const captureMaxBytes = (channel === 'stdout' ? config.stdoutCaptureMaxBytes : config.stderrCaptureMaxBytes) ?? 0;
  if (channel === 'stdout' && config.eventListener === true && events !== undefined) {
    onData = (raw) => {
      if (log.enabled('debug')) log.debug(`${pyRepr(name)} ${channel} output:\n${raw.toString()}`);
      write(host.stripAnsi ? stripAnsiEscapes(raw) : raw);
      if (isCurrent()) events.listenerStdout(process, raw);
    };
  } else if (captureMaxBytes > 0 && events !== undefined) {
    const recorder = new CaptureRecorder(captureMaxBytes, {
      log: (data, capturing) => logOutput(data, !capturing),
      captured: (data) => {
        events.communicated(process, pid, channel, data.toString('utf8'));
        log.debug(`${pyRepr(name)} ${channel} emitted a comm event`);
      },
    });
    onData = (raw) => recorder.push(raw);
  } else {
    onData = (raw) => {
      logOutput(raw, true);
    };
  }
  stream.on('data', (raw: Buffer) => {
    outputRead(raw.length);
    onData(raw);
  });
  stream.on('error', () => undefined);
}
