// The HTTP/1.1 response parser of the download client (http-get.ts): bytes in, the head and the body's
// pieces out, with no copy of the body (its pieces are views of the buffers the socket read into, so they
// can be hashed and written from there). Strict where a lenient reading could store a wrong file: a
// response with both Content-Length and chunked transfer-encoding, a malformed chunk size, a body that
// ends early are errors, never a short or padded file.

/** The response's status and headers (names in lower case; repeated headers joined by ", "). */
export interface ResponseHead {
  status: number;
  headers: ReadonlyMap<string, string>;
}

/** The response broke the protocol: nothing of it may be stored, the connection is not reused. */
export class ResponseFormatError extends Error {
  override name = 'ResponseFormatError';
}

/** The largest header block (status line and headers; trailers likewise) read: Node's default too. */
export const MAX_HEAD_BYTES = 16 * 1024;
/** The longest chunk-size line, extensions included. */
const MAX_CHUNK_LINE_BYTES = 4096;

const STATUS_LINE = /^HTTP\/1\.([01]) (\d{3})(?: [^\r\n]*)?$/;
const HEADER_NAME = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
// Up to 13 hex digits (2^52): a size beyond that is no image; the number stays exact.
const CHUNK_SIZE = /^([0-9A-Fa-f]{1,13})[ \t]*(?:;[^\r\n]*)?$/;
const CRLF = Buffer.from('\r\n');
const HEAD_END = Buffer.from('\r\n\r\n');

type Framing = { kind: 'length'; remaining: number } | { kind: 'chunked' } | { kind: 'close' };

type State = 'head' | 'length' | 'chunk-size' | 'chunk-data' | 'chunk-end' | 'trailers' | 'close' | 'done';

export interface ParserEvents {
  /** A final (non-1xx) head; the body's pieces follow. */
  head(head: ResponseHead): void;
  /** A piece of the body: a view of the fed buffer, valid as long as the caller keeps that buffer. */
  body(piece: Buffer): void;
  /** The body's last byte (by its length or the last chunk); not called for a body read until the close. */
  end(): void;
}

export class ResponseParser {
  private state: State = 'head';
  /** Bytes of an unfinished head, chunk-size line or trailer section, carried over to the next feed. */
  private carried: Buffer | undefined;
  private chunkRemaining = 0;
  private trailerBytes = 0;
  private framing: Framing | undefined;
  /** HTTP/1.1 without `Connection: close`, framed by length or chunks: the connection may serve another request. */
  private persistent = false;
  /** The body bytes so far (Content-Length is checked against it at the close). */
  bodyBytes = 0;
  /** Content-Length as declared, if any. */
  declaredLength: number | undefined;

  constructor(private readonly events: ParserEvents) {}

  get done(): boolean {
    return this.state === 'done';
  }

  /** The response ended at its framing and the connection may carry another exchange. */
  get reusable(): boolean {
    return this.state === 'done' && this.persistent;
  }

  /** Feeds bytes; returns how many were consumed: fewer than given after the head (feed the rest again) or once the response is done. */
  feed(data: Buffer): number {
    let at = 0;
    while (at < data.length && this.state !== 'done') {
      switch (this.state) {
        case 'head':
          at = this.readHead(data, at);
          // The caller decides about the body after the head: the rest of `data` waits for the next feed.
          if (this.state !== 'head') return at;
          break;
        case 'length': {
          const framing = this.framing as { kind: 'length'; remaining: number };
          const take = Math.min(framing.remaining, data.length - at);
          this.emitBody(data.subarray(at, at + take));
          at += take;
          framing.remaining -= take;
          if (framing.remaining === 0) this.finish();
          break;
        }
        case 'close':
          this.emitBody(at === 0 ? data : data.subarray(at));
          at = data.length;
          break;
        case 'chunk-size':
          at = this.readLine(data, at, MAX_CHUNK_LINE_BYTES, 'chunk-size line', (line) => this.chunkSize(line));
          break;
        case 'chunk-data': {
          const take = Math.min(this.chunkRemaining, data.length - at);
          this.emitBody(data.subarray(at, at + take));
          at += take;
          this.chunkRemaining -= take;
          if (this.chunkRemaining === 0) this.state = 'chunk-end';
          break;
        }
        case 'chunk-end':
          at = this.readLine(data, at, 2, 'chunk', (line) => {
            if (line.length !== 0) throw new ResponseFormatError('a chunk is longer than its size says (no CRLF after its data)');
            this.state = 'chunk-size';
          });
          break;
        case 'trailers':
          at = this.readLine(data, at, MAX_HEAD_BYTES, 'trailer', (line) => {
            this.trailerBytes += line.length + 2;
            if (this.trailerBytes > MAX_HEAD_BYTES) throw new ResponseFormatError(`the trailers are larger than ${MAX_HEAD_BYTES} bytes`);
            if (line.length === 0) this.finish();
            else if (!HEADER_NAME.test(line.slice(0, Math.max(0, line.indexOf(':'))))) throw new ResponseFormatError(`malformed trailer line ${JSON.stringify(line.slice(0, 100))}`);
          });
          break;
      }
    }
    return at;
  }

  /** The connection closed: the end of a read-until-close body, an error for any other unfinished response. */
  close(): void {
    if (this.state === 'done') return;
    if (this.state === 'close') {
      this.state = 'done';
      this.events.end();
      return;
    }
    if (this.state === 'head') throw new ResponseFormatError(this.carried ? 'the connection closed inside the response head' : 'the connection closed before a response');
    if (this.state === 'length') throw new ResponseFormatError(`the connection closed after ${this.bodyBytes} of ${this.declaredLength ?? '?'} bytes`);
    throw new ResponseFormatError(`the connection closed inside the chunked body after ${this.bodyBytes} bytes`);
  }

  private emitBody(piece: Buffer): void {
    if (piece.length === 0) return;
    this.bodyBytes += piece.length;
    this.events.body(piece);
  }

  private finish(): void {
    this.state = 'done';
    this.events.end();
  }

  private readHead(data: Buffer, at: number): number {
    const carried = this.carried;
    // A head spanning reads is joined (it is small); the common case finds it whole in one read.
    const bytes = carried ? Buffer.concat([carried, data.subarray(at)]) : data;
    const from = carried ? 0 : at;
    const end = bytes.indexOf(HEAD_END, carried ? Math.max(0, carried.length - 3) : from);
    if (end < 0 || end - from > MAX_HEAD_BYTES) {
      if (bytes.length - from > MAX_HEAD_BYTES) throw new ResponseFormatError(`the response's header block is larger than ${MAX_HEAD_BYTES} bytes`);
      this.carried = Buffer.from(bytes.subarray(from));
      return data.length;
    }
    this.carried = undefined;
    this.parseHead(bytes.toString('latin1', from, end));
    // Where the body starts in `data`: what `bytes` held past the head, minus what was carried.
    return carried ? at + end + 4 - carried.length : end + 4;
  }

  private parseHead(text: string): void {
    const lines = text.split('\r\n');
    const match = STATUS_LINE.exec(lines[0]!);
    if (!match) throw new ResponseFormatError(`malformed status line ${JSON.stringify(lines[0]!.slice(0, 100))}`);
    const status = Number(match[2]);
    const headers = new Map<string, string>();
    for (const line of lines.slice(1)) {
      const colon = line.indexOf(':');
      const name = line.slice(0, Math.max(0, colon)).toLowerCase();
      if (colon <= 0 || !HEADER_NAME.test(name)) throw new ResponseFormatError(`malformed header line ${JSON.stringify(line.slice(0, 100))}`);
      const value = line.slice(colon + 1).trim();
      const previous = headers.get(name);
      headers.set(name, previous === undefined ? value : `${previous}, ${value}`);
    }
    if (status >= 100 && status < 200) {
      // 1xx (100 Continue, 103 Early Hints) precede the real response; 101 would switch protocols, never asked for.
      if (status === 101) throw new ResponseFormatError('101 Switching Protocols to a GET that asked for no upgrade');
      return;
    }
    this.framing = framingOf(status, headers);
    this.persistent = match[1] === '1' && !/(^|,)\s*close\s*(,|$)/i.test(headers.get('connection') ?? '') && this.framing.kind !== 'close';
    this.events.head({ status, headers });
    if (this.framing.kind === 'length') {
      this.declaredLength = this.framing.remaining;
      this.state = 'length';
      if (this.framing.remaining === 0) this.finish();
    } else this.state = this.framing.kind === 'chunked' ? 'chunk-size' : 'close';
  }

  private chunkSize(line: string): void {
    const match = CHUNK_SIZE.exec(line);
    if (!match) throw new ResponseFormatError(`bad chunk size line ${JSON.stringify(line.slice(0, 100))}`);
    this.chunkRemaining = Number.parseInt(match[1]!, 16);
    this.state = this.chunkRemaining === 0 ? 'trailers' : 'chunk-data';
  }

  /** Reads one CRLF-terminated line (carried over reads) and hands it to `take`; returns the new position. */
  private readLine(data: Buffer, at: number, maxBytes: number, what: string, take: (line: string) => void): number {
    const carried = this.carried;
    const bytes = carried ? Buffer.concat([carried, data.subarray(at)]) : data;
    const from = carried ? 0 : at;
    const end = bytes.indexOf(CRLF, carried ? Math.max(0, carried.length - 1) : from);
    if (end < 0 || end - from > maxBytes) {
      if (bytes.length - from > maxBytes + 1) throw new ResponseFormatError(what === 'chunk' ? 'a chunk is longer than its size says (no CRLF after its data)' : `a ${what} longer than ${maxBytes} bytes`);
      this.carried = Buffer.from(bytes.subarray(from));
      return data.length;
    }
    this.carried = undefined;
    take(bytes.toString('latin1', from, end));
    return carried ? at + end + 2 - carried.length : end + 2;
  }
}

/** How the body ends (RFC 9112 6.3), refusing the ambiguous cases a download must not guess at. */
function framingOf(status: number, headers: ReadonlyMap<string, string>): Framing {
  if (status === 204 || status === 304) return { kind: 'length', remaining: 0 };
  const transferEncoding = headers.get('transfer-encoding');
  const contentLength = headers.get('content-length');
  if (transferEncoding !== undefined) {
    if (contentLength !== undefined) throw new ResponseFormatError('the response has both Content-Length and Transfer-Encoding (refused: its length is ambiguous)');
    const codings = transferEncoding.split(',').map((c) => c.trim().toLowerCase());
    // A response whose last coding is not chunked is read until the close; chunked anywhere else is malformed.
    if (codings.at(-1) === 'chunked') {
      if (codings.length > 1) throw new ResponseFormatError(`unsupported Transfer-Encoding ${JSON.stringify(transferEncoding)}`);
      return { kind: 'chunked' };
    }
    if (codings.includes('chunked')) throw new ResponseFormatError(`malformed Transfer-Encoding ${JSON.stringify(transferEncoding)}`);
    return { kind: 'close' };
  }
  if (contentLength !== undefined) {
    const values = new Set(contentLength.split(',').map((v) => v.trim()));
    const [value] = values;
    if (values.size !== 1 || !/^\d{1,15}$/.test(value!)) throw new ResponseFormatError(`malformed Content-Length ${JSON.stringify(contentLength.slice(0, 100))}`);
    return { kind: 'length', remaining: Number(value) };
  }
  return { kind: 'close' };
}
