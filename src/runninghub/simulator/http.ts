// The simulator's HTTP plumbing, shared by the RunningHub endpoints, the control routes and the
// fault injection: a reply value, RunningHub's JSON envelope, body reading and writing.
import type { IncomingMessage, ServerResponse } from 'node:http';

const MAX_BODY_BYTES = 1024 * 1024;

export class HttpReply {
  constructor(
    readonly status: number,
    readonly body: string,
    readonly contentType: string,
  ) {}
}

export class BinaryReply extends HttpReply {
  constructor(
    readonly bytes: Buffer,
    contentType: string,
  ) {
    super(200, '', contentType);
  }
}

/** A file sent as several buffers (a big output is its per-task head, a shared padding and a tail). */
export class PartsReply extends HttpReply {
  constructor(
    readonly parts: readonly Buffer[],
    contentType: string,
  ) {
    super(200, '', contentType);
  }

  get length(): number {
    return this.parts.reduce((sum, part) => sum + part.length, 0);
  }
}

/** RunningHub's `{code, msg, data}`, with task ids as bare numbers when `numericTaskIds` is on. */
export function envelope(status: number, value: { code: number; msg: string; data: unknown }, numericTaskIds = false): HttpReply {
  return new HttpReply(status, numericIds(JSON.stringify(value), numericTaskIds), 'application/json');
}

export function numericIds(json: string, on: boolean): string {
  return on ? json.replace(/"taskId":"(\d+)"/g, '"taskId":$1') : json;
}

/**
 * How a reply is cut short (a fault): `truncate` sends the headers with the full Content-Length and half
 * the body, then drops the connection; `truncate-chunked` the same without a Content-Length (chunked
 * encoding); `stall` sends the headers and half the body, then nothing while the connection stays open.
 */
export type ReplyCut = 'truncate' | 'truncate-chunked' | 'stall';

export function writeReply(res: ServerResponse, reply: HttpReply, cut?: ReplyCut): void {
  if (res.destroyed) return;
  if (reply instanceof PartsReply || cut !== undefined) {
    const parts = reply instanceof PartsReply ? reply.parts : [reply instanceof BinaryReply ? reply.bytes : Buffer.from(reply.body)];
    const length = parts.reduce((sum, part) => sum + part.length, 0);
    res.writeHead(reply.status, cut === 'truncate-chunked' ? { 'content-type': reply.contentType } : { 'content-type': reply.contentType, 'content-length': length });
    if (cut === undefined) {
      for (const part of parts) res.write(part);
      res.end();
      return;
    }
    let budget = Math.floor(length / 2);
    const half: Buffer[] = [];
    for (const part of parts) {
      if (budget <= 0) break;
      half.push(part.length <= budget ? part : part.subarray(0, budget));
      budget -= part.length;
    }
    // Dropped once the half is on the wire (destroying at once could discard the headers too); a stall
    // leaves the connection open: the client's idle timeout (or the simulator's stop) ends it.
    res.write(Buffer.concat(half), () => {
      if (cut !== 'stall') res.socket?.destroy();
    });
    return;
  }
  const body = reply instanceof BinaryReply ? reply.bytes : reply.body;
  res.writeHead(reply.status, { 'content-type': reply.contentType, 'content-length': Buffer.byteLength(body) });
  res.end(body);
}

export function readBody(req: IncomingMessage): Promise<string> {
  return readRawBody(req, MAX_BODY_BYTES).then((bytes) => bytes.toString('utf8'));
}

export function readRawBody(req: IncomingMessage, maxBytes: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > maxBytes) {
        reject(new Error('body too large'));
        req.destroy();
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}
