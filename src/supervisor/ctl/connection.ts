// supervisorctl's byte stream to supervisord: a Unix socket or a TCP port, made one of two ways.
// - node:net, the default (the event listeners' RPC client, tests, any long-lived process);
// - libuv's stream handles straight from Node's bindings, for the command-line client only
//   (useLibuvHandles, called by supervisorctl-main.ts). supervisorctl lives ~70 ms, and loading node:net
//   with node:stream and making a net.Socket is a large part of what it adds to a bare Node start; the
//   client also writes its output with fs.writeSync rather than through process.stdout, which on a pipe or a
//   terminal is a net.Socket and would load them anyway. Together 4-7 ms of a `status` run (npm run
//   bench:ctl; bench/FINDINGS.md, 2026-12-07, night).
// The handles are Node internals (process.binding, deprecated in the documentation only: DEP0111), so
// they are used only when every piece looks as this code expects (checked on Node 20, 22 and 24), never
// when using them would print a deprecation warning (--pending-deprecation), never for a host name (node:net
// resolves it), and a failure to set them up falls back to node:net before anything is sent.
import { getSystemErrorName } from 'node:util';

export type ConnectTarget = { kind: 'unix'; path: string } | { kind: 'http'; host: string; port: number };

export interface ConnectionHandlers {
  connected(): void;
  data(chunk: Buffer): void;
  /** The peer closed its side. */
  end(): void;
  /** `code` is the errno name (ENOENT, ECONNREFUSED, EACCES, ...), the message as node:net words it. */
  error(error: NodeJS.ErrnoException): void;
}

export interface Connection {
  /** How it was made (the tests check which). */
  readonly way: 'libuv handles' | 'node:net';
  write(data: Buffer): void;
  /** Closes the connection; no handler is called after this. */
  close(): void;
}

let handlesWanted = false;

/** The command-line client's choice: connect through libuv's handles where they can be used (see above). */
export function useLibuvHandles(): void {
  handlesWanted = true;
}

/** Connects to `target`; the handlers are called from the event loop, never from within this call. */
export function openConnection(target: ConnectTarget, handlers: ConnectionHandlers, options: { handles?: boolean } = {}): Connection {
  if (options.handles ?? handlesWanted) {
    const bindings = handleBindings();
    const ip = target.kind === 'http' ? ipFamily(target.host) : undefined;
    if (bindings && (target.kind === 'unix' || ip !== undefined)) {
      try {
        return handleConnection(bindings, target, ip, handlers);
      } catch {
        // Internals not as expected after all: node:net below, nothing has been sent.
      }
    }
  }
  return netConnection(target, handlers);
}

function netConnection(target: ConnectTarget, handlers: ConnectionHandlers): Connection {
  // Loaded here, not at the top: the handles' way never loads it (the bundle is CommonJS run by vm.Script,
  // which has no dynamic import).
  const { connect } = process.getBuiltinModule('node:net');
  const socket = target.kind === 'unix' ? connect(target.path) : connect(target.port, target.host);
  let closed = false;
  socket.on('connect', () => handlers.connected());
  socket.on('data', (chunk: Buffer) => {
    if (!closed) handlers.data(chunk);
  });
  socket.on('end', () => {
    if (!closed) handlers.end();
  });
  socket.on('error', (error: NodeJS.ErrnoException) => {
    if (!closed) handlers.error(error);
  });
  return {
    way: 'node:net',
    write: (data) => {
      socket.write(data);
    },
    close: () => {
      closed = true;
      socket.destroy();
    },
  };
}

// ---- libuv's handles ----

/** A request object the handle completes later (connect, or a write that did not finish at once). */
interface Request {
  oncomplete: (status: number) => void;
}
interface WriteRequest extends Request {
  handle: StreamHandle;
}
interface StreamHandle {
  /**
   * Called with the read's buffer (its length and offset in the shared read state), or with none at EOF or an
   * error. Always a function: Node aborts the process on anything else (node:net sets a no-op when it closes).
   */
  onread: (buffer: ArrayBuffer | undefined) => void;
  readStart(): number;
  writeBuffer(request: WriteRequest, data: Uint8Array): number;
  close(callback?: () => void): void;
  connect(request: Request, address: string, port?: number): number;
  connect6?(request: Request, address: string, port: number): number;
}

interface HandleBindings {
  pipe: () => StreamHandle;
  pipeConnect: () => Request;
  tcp: () => StreamHandle;
  tcpConnect: () => Request;
  write: () => WriteRequest;
  /** Node's shared state of the last read or write: bytes read (or a negative errno), the buffer's offset, whether a write went async. */
  state: Int32Array;
  readBytesOrError: number;
  arrayBufferOffset: number;
  lastWriteWasAsync: number;
}

type Constructor = new (...args: number[]) => object;

let loaded: HandleBindings | null | undefined;

/** The pieces of pipe_wrap, tcp_wrap and stream_wrap used here, or null when any is missing or unusable. */
function handleBindings(): HandleBindings | null {
  if (loaded !== undefined) return loaded;
  loaded = null;
  const binding = (process as { binding?: unknown }).binding;
  // Node's own function is named `binding`. Under --pending-deprecation (however it is spelt: flag, NODE_OPTIONS,
  // NODE_PENDING_DEPRECATION=1), and in any Node that deprecates it at run time, it is wrapped by util.deprecate
  // (named `deprecated`) and would print a warning: node:net then.
  if (typeof binding !== 'function' || binding.name !== 'binding') return loaded;
  try {
    const load = (name: string): Record<string, unknown> => {
      const value: unknown = binding.call(process, name);
      return typeof value === 'object' && value !== null ? (value as Record<string, unknown>) : {};
    };
    const pipeWrap = load('pipe_wrap');
    const tcpWrap = load('tcp_wrap');
    const streamWrap = load('stream_wrap');
    const pipeSocket = socketConstant(pipeWrap);
    const tcpSocket = socketConstant(tcpWrap);
    const Pipe = streamConstructor(pipeWrap.Pipe);
    const Tcp = streamConstructor(tcpWrap.TCP);
    const PipeConnect = constructor(pipeWrap.PipeConnectWrap);
    const TcpConnect = constructor(tcpWrap.TCPConnectWrap);
    const Write = constructor(streamWrap.WriteWrap);
    const { streamBaseState: state, kReadBytesOrError, kArrayBufferOffset, kLastWriteWasAsync } = streamWrap;
    if (
      !Pipe ||
      !Tcp ||
      !PipeConnect ||
      !TcpConnect ||
      !Write ||
      pipeSocket === undefined ||
      tcpSocket === undefined ||
      !(state instanceof Int32Array) ||
      typeof kReadBytesOrError !== 'number' ||
      typeof kArrayBufferOffset !== 'number' ||
      typeof kLastWriteWasAsync !== 'number'
    ) {
      return loaded;
    }
    loaded = {
      pipe: () => new Pipe(pipeSocket) as StreamHandle,
      pipeConnect: () => new PipeConnect() as Request,
      tcp: () => new Tcp(tcpSocket) as StreamHandle,
      tcpConnect: () => new TcpConnect() as Request,
      write: () => new Write() as WriteRequest,
      state,
      readBytesOrError: kReadBytesOrError,
      arrayBufferOffset: kArrayBufferOffset,
      lastWriteWasAsync: kLastWriteWasAsync,
    };
  } catch {
    // The permission model (process.binding throws ERR_ACCESS_DENIED), or another Node: node:net.
  }
  return loaded;
}

function constructor(value: unknown): Constructor | undefined {
  return typeof value === 'function' ? (value as Constructor) : undefined;
}

/** A handle class with every method used here. */
function streamConstructor(value: unknown): Constructor | undefined {
  const made = constructor(value);
  const prototype = made?.prototype as Record<string, unknown> | undefined;
  const methods = ['readStart', 'writeBuffer', 'close', 'connect'];
  return prototype && methods.every((name) => typeof prototype[name] === 'function') ? made : undefined;
}

function socketConstant(wrap: Record<string, unknown>): number | undefined {
  const constants = wrap.constants;
  const socket = typeof constants === 'object' && constants !== null ? (constants as Record<string, unknown>).SOCKET : undefined;
  return typeof socket === 'number' ? socket : undefined;
}

/**
 * 4 or 6 for what looks like an IP address (IPv6 without brackets, as parseServerUrl gives it), undefined for a
 * host name. Rough on purpose: one libuv does not read goes to node:net (handleConnection).
 */
function ipFamily(host: string): 4 | 6 | undefined {
  if (/^[0-9a-f:.]+$/i.test(host) && host.includes(':')) return 6;
  if (/^[\d.]+$/.test(host)) return 4;
  return undefined;
}

/** An error worded as node:net's (`connect ENOENT /path`, `read ECONNRESET`), with its errno name as `code`. */
function systemError(status: number, syscall: string, address?: string): NodeJS.ErrnoException {
  let code: string;
  try {
    code = getSystemErrorName(status);
  } catch {
    code = 'EIO';
  }
  const error: NodeJS.ErrnoException = new Error(`${syscall} ${code}${address === undefined ? '' : ` ${address}`}`);
  error.code = code;
  error.errno = status;
  error.syscall = syscall;
  return error;
}

function handleConnection(bindings: HandleBindings, target: ConnectTarget, ip: 4 | 6 | undefined, handlers: ConnectionHandlers): Connection {
  const handle = target.kind === 'unix' ? bindings.pipe() : bindings.tcp();
  const address = target.kind === 'unix' ? target.path : `${target.host}:${target.port}`;
  let closed = false;
  const close = (): void => {
    if (closed) return;
    closed = true;
    handle.onread = () => undefined;
    handle.close();
  };
  // Every handler runs from the loop, never inside openConnection, as node:net's do.
  const fail = (error: NodeJS.ErrnoException): void => {
    if (closed) return;
    close();
    handlers.error(error);
  };
  const connect = bindings[target.kind === 'unix' ? 'pipeConnect' : 'tcpConnect']();
  connect.oncomplete = (status) => {
    if (closed) return;
    if (status < 0) {
      fail(systemError(status, 'connect', address));
      return;
    }
    handle.onread = (buffer) => {
      if (closed) return;
      const read = bindings.state[bindings.readBytesOrError] ?? 0;
      if (read > 0 && buffer !== undefined) {
        handlers.data(Buffer.from(buffer, bindings.state[bindings.arrayBufferOffset] ?? 0, read));
      } else if (read < 0 && getSystemErrorName(read) === 'EOF') {
        close();
        handlers.end();
      } else if (read < 0) {
        fail(systemError(read, 'read'));
      }
    };
    const started = handle.readStart();
    if (started < 0) fail(systemError(started, 'read'));
    else handlers.connected();
  };
  let status: number;
  try {
    if (target.kind === 'unix') status = handle.connect(connect, target.path);
    else if (ip === 6 && handle.connect6) status = handle.connect6(connect, target.host, target.port);
    else if (ip === 4) status = handle.connect(connect, target.host, target.port);
    else throw new Error('no way to connect to this address through the handles');
    // An address libuv does not read (it passed ipFamily's rough test): node:net decides what it is.
    if (target.kind === 'http' && status < 0 && getSystemErrorName(status) === 'EINVAL') throw new Error(`libuv does not read ${target.host}`);
  } catch (error) {
    // openConnection falls back to node:net: this handle goes.
    close();
    throw error;
  }
  if (status < 0) {
    const error = systemError(status, 'connect', address);
    queueMicrotask(() => fail(error));
  }
  const inFlight = new Set<{ request: WriteRequest; data: Buffer }>();
  return {
    way: 'libuv handles',
    write: (data) => {
      if (closed) return;
      const request = bindings.write();
      const write = { request, data };
      request.handle = handle;
      request.oncomplete = (writeStatus) => {
        inFlight.delete(write);
        if (writeStatus < 0) fail(systemError(writeStatus, 'write'));
      };
      const written = handle.writeBuffer(request, data);
      if (written < 0) {
        const error = systemError(written, 'write');
        queueMicrotask(() => fail(error));
      } else if (bindings.state[bindings.lastWriteWasAsync] === 1) {
        // The rest goes out later: the request and its bytes stay referenced until it completes.
        inFlight.add(write);
      }
    },
    close,
  };
}
