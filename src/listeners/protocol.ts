// supervisord's event listener protocol, the listener's side (supervisor/childutils.py, dispatchers.py):
// the listener writes `READY\n`, supervisord sends one header line
// `ver:3.0 server:supervisor serial:21 pool:listener poolserial:10 eventname:TICK_5 len:15\n` and `len`
// characters of payload, the listener answers `RESULT 2\nOK` (or `RESULT 4\nFAIL`, and the event is sent again).
//
// `len` counts characters, not bytes: Python 3's supervisord computes len() of the payload *string*
// (process.py _eventEnvelope) and childutils reads that many characters. A payload is always valid
// UTF-8 (supervisord replaces undecodable output by `Undecodable: b'...'`), so a character is a
// UTF-8 sequence: one lead byte (anything but 10xxxxxx) and its continuation bytes.
import { isAscii } from 'node:buffer';

/** The header line, parsed once: every key supervisord sends, numbers as numbers. */
export interface EventHeader {
  ver: string;
  server: string;
  serial: number;
  pool: string;
  poolserial: number;
  eventname: string;
  len: number;
}

export interface ListenerEvent {
  header: EventHeader;
  /** The payload as text (supervisord's own payload string). */
  readonly payload: string;
  /** The payload's bytes as read (a listener that works on bytes need not decode it). */
  readonly bytes?: Buffer;
}

export class ProtocolError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ProtocolError';
  }
}

/** `key:value key:value ...` → a map (childutils.get_headers; a value may itself hold colons). */
export function parseTokens(line: string): Map<string, string> {
  const tokens = new Map<string, string>();
  for (const word of line.split(/[ \t]+/)) {
    if (word === '') continue;
    const colon = word.indexOf(':');
    if (colon <= 0) throw new ProtocolError(`malformed token ${JSON.stringify(word)} in ${JSON.stringify(line)}`);
    tokens.set(word.slice(0, colon), word.slice(colon + 1));
  }
  return tokens;
}

function naturalNumber(tokens: Map<string, string>, key: string, line: string): number {
  const text = tokens.get(key);
  if (text === undefined || !/^\d+$/.test(text)) throw new ProtocolError(`header ${JSON.stringify(line)} has no numeric ${key}`);
  return Number(text);
}

function required(tokens: Map<string, string>, key: string, line: string): string {
  const text = tokens.get(key);
  if (text === undefined || text === '') throw new ProtocolError(`header ${JSON.stringify(line)} has no ${key}`);
  return text;
}

export function parseHeader(line: string): EventHeader {
  const tokens = parseTokens(line);
  return {
    ver: required(tokens, 'ver', line),
    server: required(tokens, 'server', line),
    serial: naturalNumber(tokens, 'serial', line),
    pool: required(tokens, 'pool', line),
    poolserial: naturalNumber(tokens, 'poolserial', line),
    eventname: required(tokens, 'eventname', line),
    len: naturalNumber(tokens, 'len', line),
  };
}

/** Byte length of the first `characters` UTF-8 characters of `bytes` (from `start`), or -1 if not all there. */
export function utf8PrefixBytes(bytes: Buffer, start: number, characters: number): number {
  // A character is at least a byte: fewer bytes than characters cannot be enough (no scan while an
  // event is still arriving). Program output is mostly ASCII: then characters are bytes, checked natively.
  if (bytes.length - start < characters) return -1;
  if (isAscii(bytes.subarray(start, start + characters))) return characters;
  let index = start;
  let seen = 0;
  const end = bytes.length;
  while (seen < characters) {
    if (index >= end) return -1;
    index += 1;
    // Skip the continuation bytes (10xxxxxx) of this character.
    while (index < end && ((bytes[index] ?? 0) & 0xc0) === 0x80) index += 1;
    seen += 1;
  }
  // The last character may still be missing continuation bytes when the chunk ended inside it.
  if (index === end && characters > 0) {
    let lead = index - 1;
    while (lead > start && ((bytes[lead] ?? 0) & 0xc0) === 0x80) lead -= 1;
    const first = bytes[lead] ?? 0;
    const expected = first < 0x80 ? 1 : first >= 0xf0 ? 4 : first >= 0xe0 ? 3 : first >= 0xc0 ? 2 : 1;
    if (index - lead < expected) return -1;
  }
  return index - start;
}

/** Most a header line may be before the stream counts as garbage (supervisord's are ~120 bytes). */
const MAX_HEADER_BYTES = 4096;

/**
 * Reads events from supervisord (a listener's stdin) and writes the listener's answers (its stdout).
 * One event at a time, as the protocol is: `ready()`, `next()`, then `ok()` or `fail()`.
 */
export class ListenerChannel {
  private buffered: Buffer = Buffer.alloc(0);
  /** Reads not yet joined to `buffered`: a big payload is joined once, when all its bytes may be there. */
  private arrived: Buffer[] = [];
  private arrivedBytes = 0;
  private header: EventHeader | null = null;
  private waiting: { resolve: (event: ListenerEvent | null) => void; reject: (error: Error) => void } | null = null;
  private ended = false;
  private stopped = false;
  private failure: Error | null = null;

  constructor(
    private readonly input: NodeJS.ReadableStream,
    private readonly output: NodeJS.WritableStream,
  ) {
    input.on('data', (chunk: Buffer | string) => {
      const bytes = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
      this.arrived.push(bytes);
      this.arrivedBytes += bytes.length;
      this.pump();
    });
    input.on('end', () => {
      this.ended = true;
      this.pump();
    });
    input.on('error', (error: Error) => {
      this.failure = error;
      this.pump();
    });
  }

  ready(): void {
    this.output.write('READY\n');
  }

  /**
   * Takes no more events (the listener was told to stop): stdin is no longer read, a pending next()
   * gets null, an event already being handled is still answered, without READY after it.
   */
  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    this.input.removeAllListeners('data');
    this.input.pause();
    // The loop must not stay alive on stdin alone; a stream without destroy() is only paused.
    const destroyable = this.input as NodeJS.ReadableStream & { destroy?: () => void };
    destroyable.destroy?.();
    this.settle(null);
  }

  get isStopped(): boolean {
    return this.stopped;
  }

  ok(): void {
    this.output.write('RESULT 2\nOK');
  }

  fail(): void {
    this.output.write('RESULT 4\nFAIL');
  }

  /** The answer and the next READY in one write: supervisord reads both at once and sends the next event. */
  answerAndReady(result: EventResult): void {
    this.output.write(result === 'OK' ? 'RESULT 2\nOKREADY\n' : 'RESULT 4\nFAILREADY\n');
  }

  /** The next event; null when supervisord closed our stdin (it is stopping us). */
  next(): Promise<ListenerEvent | null> {
    if (this.waiting !== null) throw new Error('ListenerChannel.next() called while another next() is pending');
    return new Promise((resolve, reject) => {
      this.waiting = { resolve, reject };
      this.pump();
    });
  }

  private settle(result: ListenerEvent | null | Error): void {
    const waiting = this.waiting;
    if (waiting === null) return;
    this.waiting = null;
    if (result instanceof Error) waiting.reject(result);
    else waiting.resolve(result);
  }

  private pump(): void {
    if (this.waiting === null) return;
    if (this.stopped) {
      this.settle(null);
      return;
    }
    try {
      const event = this.take();
      if (event !== null) {
        this.settle(event);
        return;
      }
    } catch (error) {
      this.settle(error instanceof Error ? error : new Error(String(error)));
      return;
    }
    if (this.failure !== null) this.settle(this.failure);
    else if (this.ended) this.settle(null);
  }

  /** A complete event from the buffer, or null when more input is needed. */
  private join(): void {
    if (this.arrived.length === 0) return;
    this.buffered = this.buffered.length === 0 && this.arrived.length === 1 ? (this.arrived[0] ?? this.buffered) : Buffer.concat([this.buffered, ...this.arrived]);
    this.arrived = [];
    this.arrivedBytes = 0;
  }

  private take(): ListenerEvent | null {
    if (this.header === null) {
      this.join();
      const newline = this.buffered.indexOf(0x0a);
      if (newline === -1) {
        if (this.buffered.length > MAX_HEADER_BYTES) throw new ProtocolError('no header line in the first 4096 bytes');
        return null;
      }
      this.header = parseHeader(this.buffered.subarray(0, newline).toString('utf8'));
      this.buffered = this.buffered.subarray(newline + 1);
    }
    if (this.buffered.length + this.arrivedBytes < this.header.len) return null;
    this.join();
    const bytes = utf8PrefixBytes(this.buffered, 0, this.header.len);
    if (bytes === -1) return null;
    const payloadBytes = this.buffered.subarray(0, bytes);
    let text: string | undefined;
    const event: ListenerEvent = {
      header: this.header,
      bytes: payloadBytes,
      // Decoded only when asked: the log forwarder works on the bytes.
      get payload(): string {
        text ??= payloadBytes.toString('utf8');
        return text;
      },
    };
    this.header = null;
    this.buffered = this.buffered.subarray(bytes);
    return event;
  }
}

/** What a handler answers: OK, or FAIL (supervisord sends the event again later). */
export type EventResult = 'OK' | 'FAIL';

/**
 * The listener loop: READY, an event, the handler's answer, forever (until stdin ends or stop()).
 * A handler that throws answers FAIL, so one bad event does not end the listener.
 */
export async function runListener(
  channel: ListenerChannel,
  handle: (event: ListenerEvent) => EventResult | Promise<EventResult>,
  onError: (error: unknown) => void = () => undefined,
): Promise<void> {
  channel.ready();
  for (;;) {
    const event = await channel.next();
    if (event === null) return;
    let result: EventResult;
    try {
      result = await handle(event);
    } catch (error) {
      onError(error);
      result = 'FAIL';
    }
    if (channel.isStopped) {
      // Answered, so supervisord does not send it again elsewhere; no READY: we take nothing more.
      if (result === 'OK') channel.ok();
      else channel.fail();
      return;
    }
    channel.answerAndReady(result);
  }
}
