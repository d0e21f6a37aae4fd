// A minimal HTTP/1.1 client over a connection (connection.ts), for the one request per connection that
// supervisorctl makes. node:http costs ~10 ms of start-up (agent, parser, streams) in a program that lives
// ~60 ms; this reads a status line, headers and a Content-Length, chunked or until-close body.
import { openConnection, type ConnectTarget } from './connection.js';

export type { ConnectTarget };

export interface ResponseHead {
  status: number;
  reason: string;
  /** Lower-cased names. */
  headers: Map<string, string>;
}

export interface ExchangeHandlers {
  head(head: ResponseHead): void;
  data(chunk: Buffer): void;
  end(): void;
  /** A connection error (`code` is the errno name) or a malformed response. */
  error(error: NodeJS.ErrnoException): void;
}

const HEADER_LIMIT = 64 * 1024;

/** Sends `request` (complete bytes) and feeds the response to `handlers`; returns a way to abort. */
export function exchange(target: ConnectTarget, request: Buffer, handlers: ExchangeHandlers): { close(): void } {
  let finished = false;
  const finish = (error?: NodeJS.ErrnoException): void => {
    if (finished) return;
    finished = true;
    connection.close();
    if (error) handlers.error(error);
    else handlers.end();
  };
  let headBuffer: Buffer | null = Buffer.alloc(0);
  let mode: 'length' | 'chunked' | 'close' = 'close';
  let remaining = 0;
  let chunkBuffer: Buffer = Buffer.alloc(0);

  const malformed = (what: string): void => {
    const error: NodeJS.ErrnoException = new Error(`malformed HTTP response: ${what}`);
    error.code = 'EPROTO';
    finish(error);
  };

  const feedBody = (data: Buffer): void => {
    if (mode === 'close') {
      if (data.length > 0) handlers.data(data);
      return;
    }
    if (mode === 'length') {
      const part = data.subarray(0, remaining);
      remaining -= part.length;
      if (part.length > 0) handlers.data(part);
      if (remaining === 0) finish();
      return;
    }
    chunkBuffer = chunkBuffer.length === 0 ? data : Buffer.concat([chunkBuffer, data]);
    for (;;) {
      const lineEnd = chunkBuffer.indexOf('\r\n');
      if (lineEnd === -1) return;
      const size = Number.parseInt(chunkBuffer.subarray(0, lineEnd).toString('latin1').split(';')[0] ?? '', 16);
      if (Number.isNaN(size)) {
        malformed('bad chunk size');
        return;
      }
      if (size === 0) {
        finish();
        return;
      }
      if (chunkBuffer.length < lineEnd + 2 + size + 2) return;
      handlers.data(chunkBuffer.subarray(lineEnd + 2, lineEnd + 2 + size));
      chunkBuffer = chunkBuffer.subarray(lineEnd + 2 + size + 2);
    }
  };

  const onData = (data: Buffer): void => {
    if (finished) return;
    if (headBuffer === null) {
      feedBody(data);
      return;
    }
    headBuffer = Buffer.concat([headBuffer, data]);
    const end = headBuffer.indexOf('\r\n\r\n');
    if (end === -1) {
      if (headBuffer.length > HEADER_LIMIT) malformed('headers too large');
      return;
    }
    const lines = headBuffer.subarray(0, end).toString('latin1').split('\r\n');
    const rest = headBuffer.subarray(end + 4);
    headBuffer = null;
    const statusLine = /^HTTP\/\d\.\d (\d{3}) ?(.*)$/.exec(lines[0] ?? '');
    if (!statusLine) {
      malformed(`status line '${lines[0] ?? ''}'`);
      return;
    }
    const headers = new Map<string, string>();
    for (const line of lines.slice(1)) {
      const colon = line.indexOf(':');
      if (colon > 0) headers.set(line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim());
    }
    if ((headers.get('transfer-encoding') ?? '').toLowerCase().includes('chunked')) {
      mode = 'chunked';
    } else if (headers.has('content-length')) {
      mode = 'length';
      remaining = Number(headers.get('content-length'));
      if (!Number.isSafeInteger(remaining) || remaining < 0) {
        malformed('bad Content-Length');
        return;
      }
    }
    handlers.head({ status: Number(statusLine[1]), reason: statusLine[2] ?? '', headers });
    if (mode === 'length' && remaining === 0) finish();
    else feedBody(rest);
  };
  const connection = openConnection(target, {
    connected: () => connection.write(request),
    data: onData,
    end: () => {
      if (headBuffer !== null) malformed('connection closed before the headers');
      else if (mode === 'length' && remaining > 0) malformed('connection closed inside the body');
      else finish();
    },
    error: (error) => finish(error),
  });
  return { close: () => finish() };
}
