// A small HTTP/1.1 GET client for downloads (download.ts). Why not node:http: its streams hand the body up
// in 64 KiB chunks through several layers, and that CPU per byte, on the processor's one JS thread, was
// the cost of keeping outputs (bench (6): 0.15 x curl for 1 MB files). Here the socket reads with `onread`
// straight into 1 MiB slabs (the kernel hands up to the slab's free space per read); the parser
// (http-response.ts) cuts the body's pieces out of them without a copy, and the caller hashes and writes
// from those same bytes. A slab is the caller's until it releases every piece of it; with SLABS_IN_FLIGHT
// slabs unreleased the socket pauses, so memory stays bounded whatever the file's size.
// https goes through tls.connect (SNI and certificate checks as Node's defaults). A connection whose
// response was read to its end goes back to a small idle pool per origin and serves the next download
// there (production outputs come from an https CDN: no TLS handshake per file).
import https from 'node:https';
import net from 'node:net';
import tls from 'node:tls';
import { ResponseFormatError, ResponseParser, type ResponseHead } from './http-response.js';

/** Transport trouble (refused, reset, timed out, aborted, a malformed response): worth another try. */
export class HttpGetError extends Error {
  override name = 'HttpGetError';
}

export interface HttpGetOptions {
  /** No byte for this long while waiting for or reading the response: HttpGetError. */
  idleTimeoutMs: number;
  signal?: AbortSignal;
  /** Certificates trusted instead of Node's roots (tests' own CA); unset: https.globalAgent's, else Node's. */
  ca?: tls.SecureContextOptions['ca'];
}

/** A response whose head arrived; its body is read by `readBody`, or not at all (`discard`). */
export interface HttpResponse extends ResponseHead {
  /**
   * Hands each piece of the body to `onPiece`, in order; the piece's memory is the caller's until it calls
   * `release` (the socket pauses while too much is held). Resolves once the last byte arrived; a throw from
   * `onPiece` stops the download (the connection is closed) and rejects with it.
   */
  readBody(onPiece: (piece: Buffer, release: () => void) => void): Promise<void>;
  /** The body is not wanted: the connection is closed. */
  discard(): void;
}

const SLAB_BYTES = 1024 * 1024;
/** A slab with less free space than this is retired: reads stay large. */
const MIN_READ_BYTES = 64 * 1024;
/** Slabs a connection may have handed out and not yet got back before it pauses reading. */
const SLABS_IN_FLIGHT = 2;
/**
 * Free slabs kept for reuse: enough for several downloads at once (each holds at most SLABS_IN_FLIGHT + 1),
 * so that a steady stream of transfers allocates no new memory and leaves none for the garbage collector
 * (resident memory then depends on the transfers at once, not on file sizes). Beyond it slabs are left to
 * the collector; all spares are dropped once none was taken or given back for IDLE_CONNECTION_MS.
 */
const SPARE_SLABS = 16;
/** An idle connection is closed after this long (servers close theirs after a few seconds too). */
const IDLE_CONNECTION_MS = 4_000;
const IDLE_CONNECTIONS_PER_ORIGIN = 8;

const spareSlabs: Buffer[] = [];
let spareSlabsUnused: NodeJS.Timeout | undefined;
const idleByOrigin = new Map<string, Connection[]>();

function takeSpareSlab(): Buffer | undefined {
  spareSlabsUnused?.refresh();
  return spareSlabs.pop();
}

function keepSpareSlab(buffer: Buffer): void {
  if (spareSlabs.length < SPARE_SLABS) spareSlabs.push(buffer);
  if (spareSlabsUnused) spareSlabsUnused.refresh();
  else {
    spareSlabsUnused = setTimeout(() => {
      spareSlabs.length = 0;
      spareSlabsUnused = undefined;
    }, IDLE_CONNECTION_MS);
    spareSlabsUnused.unref();
  }
}

/** Spare slabs held now (tests). */
export function spareSlabCount(): number {
  return spareSlabs.length;
}

interface Slab {
  buffer: Buffer;
  /** Bytes read into it so far. */
  used: number;
  /** Pieces handed out and not released. */
  held: number;
}

/** GET `target` (http: or https:); resolves with the response once its head arrived (after any 1xx). */
export async function httpGet(target: URL, given: HttpGetOptions): Promise<HttpResponse> {
  // As https.get does, the global agent's certificates apply when the caller names none.
  const globalCa = https.globalAgent.options.ca;
  const options = given.ca === undefined && globalCa !== undefined ? { ...given, ca: globalCa } : given;
  const origin = poolKey(target, options);
  if (options.signal?.aborted) throw new HttpGetError('aborted');
  for (;;) {
    const idle = takeIdle(origin);
    try {
      return await (idle ?? Connection.open(target, options)).request(target, options);
    } catch (error) {
      // A pooled connection the server closed meanwhile fails before any byte of a response: a fresh one is tried.
      if (idle && error instanceof StaleConnectionError) continue;
      throw error;
    }
  }
}

/** Connections are shared by origin, and by the certificates trusted (a connection checked against other CAs is not reused). */
function poolKey(target: URL, options: HttpGetOptions): string {
  return `${target.protocol}//${target.host}${options.ca === undefined ? '' : ` ca:${[options.ca].flat().join('\n')}`}`;
}

class StaleConnectionError extends HttpGetError {}

/** What the reader's onPiece threw (FileTooLargeError…): passed on as it is, not as a transport error. */
class ReaderError extends Error {
  constructor(override readonly cause: unknown) {
    super('the reader stopped the download');
  }
}

function takeIdle(origin: string): Connection | undefined {
  const idle = idleByOrigin.get(origin);
  const connection = idle?.pop();
  if (idle?.length === 0) idleByOrigin.delete(origin);
  return connection;
}

class Connection {
  private current: Slab | undefined;
  /** Retired slabs with pieces still held. */
  private slabsOut = 0;
  private paused = false;
  private exchange: Exchange | undefined;
  private exchanges = 0;
  private idleTimer: NodeJS.Timeout | undefined;
  readonly socket: net.Socket;

  private constructor(
    readonly origin: string,
    connect: (onread: net.OnReadOpts) => net.Socket,
  ) {
    this.socket = connect({ buffer: () => this.nextReadBuffer(), callback: (bytes) => this.onRead(bytes) });
    this.socket.on('error', (error) => this.failed(error));
    this.socket.on('end', () => this.ended());
    this.socket.on('close', () => this.failed(new Error('the connection closed')));
    this.socket.on('timeout', () => {
      const exchange = this.exchange;
      exchange?.fail(new HttpGetError(`no data for ${exchange.idleTimeoutMs} ms`));
    });
  }

  static open(target: URL, options: HttpGetOptions): Connection {
    const port = Number(target.port || (target.protocol === 'https:' ? 443 : 80));
    // URL.hostname keeps an IPv6 literal's brackets; sockets want it bare (and SNI takes no IP address).
    const host = target.hostname.replace(/^\[(.*)\]$/, '$1');
    return new Connection(poolKey(target, options), (onread) => {
      if (target.protocol !== 'https:') return net.connect({ host, port, onread });
      // tls.connect takes `onread` as net.connect does (Node's docs); @types/node does not list it.
      const tlsOptions: tls.ConnectionOptions & { onread: net.OnReadOpts } = {
        host,
        port,
        onread,
        ALPNProtocols: ['http/1.1'],
        ...(net.isIP(host) ? {} : { servername: host }),
        ...(options.ca ? { ca: options.ca } : {}),
      };
      return tls.connect(tlsOptions);
    });
  }

  request(target: URL, options: HttpGetOptions): Promise<HttpResponse> {
    if (this.idleTimer) clearTimeout(this.idleTimer);
    this.socket.ref();
    const exchange = new Exchange(this, options, this.exchanges++ > 0);
    this.exchange = exchange;
    this.socket.setTimeout(options.idleTimeoutMs);
    this.socket.write(`GET ${target.pathname}${target.search} HTTP/1.1\r\nHost: ${target.host}\r\nAccept: */*\r\nUser-Agent: storyboard-api\r\n\r\n`);
    this.resume();
    return exchange.headReceived;
  }

  /** Before each read: the current slab's free space, or a new slab when little is left. */
  private nextReadBuffer(): Buffer {
    let slab = this.current;
    if (!slab || slab.buffer.length - slab.used < MIN_READ_BYTES) {
      if (slab) this.retire(slab);
      slab = { buffer: takeSpareSlab() ?? Buffer.allocUnsafe(SLAB_BYTES), used: 0, held: 0 };
      this.current = slab;
    }
    return slab.buffer.subarray(slab.used);
  }

  private retire(slab: Slab): void {
    if (slab.held === 0) keepSpareSlab(slab.buffer);
    else this.slabsOut++;
  }

  /** The bytes landed where nextReadBuffer pointed: the current slab's free space. */
  private onRead(bytes: number): boolean {
    const slab = this.current!;
    const data = slab.buffer.subarray(slab.used, slab.used + bytes);
    slab.used += bytes;
    const exchange = this.exchange;
    if (!exchange) {
      // Bytes nobody asked for on an idle connection: it cannot be trusted with the next request.
      this.socket.destroy();
      return false;
    }
    exchange.received(data, slab);
    this.paused = this.slabsOut >= SLABS_IN_FLIGHT || exchange.waitingForReader;
    return !this.paused;
  }

  /** Gives a piece back; the last piece of a retired slab returns it to the spares (and may resume reading). */
  release(slab: Slab): void {
    slab.held--;
    if (slab.held > 0 || slab === this.current) return;
    this.slabsOut--;
    keepSpareSlab(slab.buffer);
    if (this.paused && this.slabsOut < SLABS_IN_FLIGHT && this.exchange && !this.exchange.waitingForReader) this.resume();
  }

  resume(): void {
    this.paused = false;
    this.socket.resume();
  }

  private ended(): void {
    // The server's end: the end of a read-until-close body, else an error for an exchange under way.
    const exchange = this.exchange;
    if (exchange) exchange.closed();
    this.socket.destroy();
  }

  private failed(error: Error): void {
    this.exchange?.fail(error);
    this.dropFromIdle();
  }

  /** The exchange is over: back to the idle pool if its response ended at its framing, else closed. */
  finished(exchange: Exchange, reusable: boolean): void {
    if (this.exchange !== exchange) return;
    this.exchange = undefined;
    if (!reusable || this.socket.destroyed) {
      this.socket.destroy();
      return;
    }
    this.socket.setTimeout(0);
    this.socket.unref();
    const idle = idleByOrigin.get(this.origin) ?? [];
    if (idle.length >= IDLE_CONNECTIONS_PER_ORIGIN) {
      this.socket.destroy();
      return;
    }
    idle.push(this);
    idleByOrigin.set(this.origin, idle);
    this.idleTimer = setTimeout(() => this.socket.destroy(), IDLE_CONNECTION_MS);
    this.idleTimer.unref();
  }

  private dropFromIdle(): void {
    if (this.idleTimer) clearTimeout(this.idleTimer);
    const idle = idleByOrigin.get(this.origin);
    const at = idle?.indexOf(this) ?? -1;
    if (at >= 0) idle!.splice(at, 1);
    if (idle?.length === 0) idleByOrigin.delete(this.origin);
  }

  hold(slab: Slab): () => void {
    slab.held++;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.release(slab);
    };
  }
}

/** One request and its response on a connection. */
class Exchange {
  readonly headReceived: Promise<HttpResponse>;
  private resolveHead!: (response: HttpResponse) => void;
  private rejectHead!: (error: Error) => void;
  private readonly parser: ResponseParser;
  private anyByte = false;
  private state: 'head' | 'waiting' | 'body' | 'over' = 'head';
  /** Body bytes of the read that held the head, kept until the reader comes. */
  private early: { data: Buffer; slab: Slab } | undefined;
  private onPiece: ((piece: Buffer, release: () => void) => void) | undefined;
  private bodySlab: Slab | undefined;
  private resolveBody: (() => void) | undefined;
  private rejectBody: ((error: Error) => void) | undefined;
  private readonly unlistenAbort: () => void;
  /** Why the exchange failed before its reader came (given to readBody then). */
  private failure: Error | undefined;
  readonly idleTimeoutMs: number;

  constructor(
    private readonly connection: Connection,
    options: HttpGetOptions,
    private readonly reused: boolean,
  ) {
    this.idleTimeoutMs = options.idleTimeoutMs;
    this.headReceived = new Promise((resolve, reject) => {
      this.resolveHead = resolve;
      this.rejectHead = reject;
    });
    this.parser = new ResponseParser({
      head: (head) => this.head(head),
      body: (piece) => {
        try {
          this.onPiece!(piece, this.connection.hold(this.bodySlab!));
        } catch (error) {
          throw new ReaderError(error);
        }
      },
      end: () => this.bodyEnded(),
    });
    const signal = options.signal;
    const aborted = () => this.fail(new HttpGetError('aborted'));
    if (signal?.aborted) queueMicrotask(aborted);
    signal?.addEventListener('abort', aborted, { once: true });
    this.unlistenAbort = () => signal?.removeEventListener('abort', aborted);
  }

  get waitingForReader(): boolean {
    return this.state === 'waiting';
  }

  received(data: Buffer, slab: Slab): void {
    this.anyByte = true;
    if (this.state === 'over') return;
    if (this.state === 'waiting') {
      // Paused at the head, yet a read was under way: kept for the reader (copied behind earlier bytes).
      if (this.early) this.early.data = Buffer.concat([this.early.data, data]);
      else {
        this.connection.hold(slab);
        this.early = { data, slab };
      }
      return;
    }
    this.feed(data, slab);
  }

  private feed(data: Buffer, slab: Slab): void {
    this.bodySlab = slab;
    try {
      const used = this.parser.feed(data);
      if (this.state === 'waiting' && used < data.length && !this.parser.done) {
        // The head ended inside this read: the body's first bytes wait (their slab held) for readBody.
        this.connection.hold(slab);
        this.early = { data: data.subarray(used), slab };
      } else if (used < data.length) {
        throw new ResponseFormatError(`${data.length - used} bytes after the end of the response`);
      }
    } catch (error) {
      if (error instanceof ReaderError) this.failWith(error.cause);
      else this.fail(error instanceof Error ? error : new Error(String(error)));
    }
  }

  private head(head: ResponseHead): void {
    this.state = 'waiting';
    this.resolveHead({
      ...head,
      readBody: (onPiece) => this.readBody(onPiece),
      discard: () => this.finish(false),
    });
  }

  private readBody(onPiece: (piece: Buffer, release: () => void) => void): Promise<void> {
    const body = new Promise<void>((resolve, reject) => {
      this.resolveBody = resolve;
      this.rejectBody = reject;
    });
    if (this.state !== 'waiting') {
      this.rejectBody!(this.failure ?? new HttpGetError('the body was already read or discarded'));
      return body;
    }
    this.onPiece = onPiece;
    this.state = 'body';
    const early = this.early;
    this.early = undefined;
    if (this.parser.done) this.bodyEnded();
    else if (early) {
      this.feed(early.data, early.slab);
      this.connection.release(early.slab);
    }
    if (this.state === 'body') this.connection.resume();
    return body;
  }

  private bodyEnded(): void {
    if (this.state !== 'body') return;
    this.finish(this.parser.reusable);
    this.resolveBody?.();
  }

  /** The server closed its side. */
  closed(): void {
    if (this.state === 'over') return;
    try {
      this.parser.close();
    } catch (error) {
      this.fail(error instanceof Error ? error : new Error(String(error)));
    }
  }

  fail(error: Error): void {
    if (this.state === 'over') return;
    const stale = this.reused && !this.anyByte && !(error instanceof HttpGetError);
    const failure = stale ? new StaleConnectionError(error.message) : error instanceof HttpGetError ? error : new HttpGetError(describe(error));
    const state = this.state;
    this.failure = failure;
    this.finish(false);
    if (state === 'head') this.rejectHead(failure);
    else this.rejectBody?.(failure);
  }

  private finish(reusable: boolean): void {
    if (this.state === 'over') return;
    const wasWaiting = this.state === 'waiting';
    this.state = 'over';
    this.unlistenAbort();
    if (wasWaiting && this.early) this.connection.release(this.early.slab);
    this.early = undefined;
    this.connection.finished(this, reusable);
  }

  /** A throw from the reader's onPiece, raised inside a feed: the exchange fails with it as it is. */
  failWith(error: unknown): void {
    const state = this.state;
    this.finish(false);
    if (state !== 'head') this.rejectBody?.(error instanceof Error ? error : new Error(String(error)));
  }
}

function describe(error: Error): string {
  const code = (error as NodeJS.ErrnoException).code;
  return error instanceof ResponseFormatError ? error.message : `${code ?? error.name}: ${error.message}`;
}
