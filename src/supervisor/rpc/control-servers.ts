// The listening side of supervisord's control interface: the [unix_http_server] socket and the optional
// [inet_http_server] port, bound at start as supervisord binds them. What answers a request (the XML-RPC
// methods, the codec and its XML parser, the web console, /metrics) is loaded on the first request, not
// at start: most supervisords are never asked anything for hours, and a module once loaded stays resident
// (npm run bench:supervisor measures the idle daemon's memory).
import { existsSync, readFileSync } from 'node:fs';
import { chmod, chown, lstat, unlink } from 'node:fs/promises';
import type { Server as HttpServer } from 'node:http';
import { connect, createServer as createNetServer, type Server, type Socket } from 'node:net';
import { dirname } from 'node:path';
import type { HttpAuth, SupervisorControl, SupervisordConfig } from '../types.js';
import type { ControlLog } from './http-server.js';
import type { SupervisorRpc } from './methods.js';

export const ALREADY_LISTENING =
  'Another program is already listening on a port that one of our HTTP servers is configured to use.  Shut this program down first before starting supervisord.';

export interface ControlServers {
  /** Where the unix socket listens (null without [unix_http_server]). */
  readonly socketPath: string | null;
  /** The bound TCP port (null without [inet_http_server]); useful when the config says port 0. */
  readonly inetPort: number | null;
  close(): Promise<void>;
}

function isLive(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const socket: Socket = connect(path);
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

function listen(server: Server, target: { path: string } | { port: number; host?: string }): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (error: NodeJS.ErrnoException): void => {
      server.off('listening', onListening);
      if (error.code === 'EADDRINUSE') {
        reject(new Error(ALREADY_LISTENING));
        return;
      }
      // A socket in a missing directory comes back as EACCES from libuv; supervisord says ENOENT.
      const missingDir = 'path' in target && !existsSync(dirname(target.path));
      const code = missingDir ? 'ENOENT' : (error.code ?? 'EIO');
      const errno = missingDir ? 2 : Math.abs(error.errno ?? 5);
      reject(new Error(`Cannot open an HTTP server: socket.error reported errno.${code} (${errno})`));
    };
    const onListening = (): void => {
      server.off('error', onError);
      resolve();
    };
    server.once('error', onError);
    server.once('listening', onListening);
    server.listen(target);
  });
}

/** uid/gid from /etc/passwd and /etc/group (Node has no getpwnam); numeric ids pass through. */
function lookupId(file: '/etc/passwd' | '/etc/group', name: string): number {
  if (/^\d+$/.test(name)) return Number(name);
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    const fields = line.split(':');
    if (fields[0] === name && fields[2] !== undefined) return Number(fields[2]);
  }
  throw new Error(`Invalid ${file === '/etc/passwd' ? 'user' : 'group'} name ${name}`);
}

function primaryGid(user: string): number {
  for (const line of readFileSync('/etc/passwd', 'utf8').split('\n')) {
    const fields = line.split(':');
    if ((fields[0] === user || fields[2] === user) && fields[3] !== undefined) return Number(fields[3]);
  }
  throw new Error(`Invalid user name ${user}`);
}

/** One listening socket; its HTTP server exists from the first connection on. */
interface ControlServer {
  readonly listener: Server;
  close(): Promise<void>;
}

/**
 * The socket listens here (node:net); the HTTP server that reads its connections (node:http, with the
 * request handler) is made on the first connection and handed each connection, as node:http's docs allow
 * ("This event can also be explicitly emitted by users to inject connections into the HTTP server").
 * The connection's bytes wait in its buffer meanwhile. `rpc` is shared by both servers.
 */
function createControlServer(rpc: () => Promise<SupervisorRpc>, control: SupervisorControl, auth: HttpAuth | null, log: ControlLog): ControlServer {
  let http: Promise<HttpServer> | undefined;
  const load = async (): Promise<HttpServer> => {
    const [{ createServer: createHttpServer }, { createRequestHandler }, methods] = await Promise.all([
      import('node:http'),
      import('./http-server.js'),
      rpc(),
    ]);
    // The request (headers + body) must arrive within a minute: a stalled upload cannot pin a socket.
    const server = createHttpServer({ requestTimeout: 60_000, headersTimeout: 30_000 }, createRequestHandler(methods, control, auth, log));
    // The reply has no deadline: a `start` waits startsecs, a `stop` up to stopwaitsecs, and
    // `tail -f` streams until the client leaves.
    server.timeout = 0;
    server.keepAliveTimeout = 30_000;
    // node:http starts its request/headers timeout checks on 'listening'; this server never listens itself.
    server.emit('listening');
    return server;
  };
  // As node:http's own listening socket: half-open connections allowed (HTTP ends them), no Nagle delay.
  const listener = createNetServer({ allowHalfOpen: true, noDelay: true }, (socket) => {
    (http ??= load()).then(
      (server) => server.emit('connection', socket),
      (error: unknown) => {
        log.critical(`Loading the HTTP request handler failed: ${String(error)}`);
        socket.destroy();
      },
    );
  });
  return {
    listener,
    async close() {
      const closed = new Promise<void>((resolve) => listener.close(() => resolve()));
      // Connections waiting for the HTTP server are handed to it first (their callbacks were queued earlier).
      const server = await http?.catch(() => undefined);
      if (server !== undefined) {
        // Stops its timeout checks (it is not listening, so close() only reports that) and ends its connections.
        server.close(() => undefined);
        server.closeAllConnections();
      }
      await closed;
    },
  };
}

export async function startControlServers(
  control: SupervisorControl,
  config: SupervisordConfig,
  log: ControlLog,
): Promise<ControlServers> {
  let methods: Promise<SupervisorRpc> | undefined;
  const rpc = (): Promise<SupervisorRpc> =>
    (methods ??= import('./methods.js').then(({ SupervisorRpc }) => new SupervisorRpc(control, config.rpcInterfaceEnabled)));
  const servers: ControlServer[] = [];
  let socketPath: string | null = null;
  let inetPort: number | null = null;

  const closeAll = async (): Promise<void> => {
    await Promise.all(servers.map((server) => server.close()));
    if (socketPath !== null) await unlink(socketPath).catch(() => undefined);
  };

  try {
    const unix = config.unixHttpServer;
    if (unix !== null) {
      const existing = await lstat(unix.file).catch(() => undefined);
      if (existing !== undefined) {
        if (await isLive(unix.file)) throw new Error(ALREADY_LISTENING);
        // A stale socket left by a crash.
        await unlink(unix.file);
      }
      const server = createControlServer(rpc, control, unix.auth, log);
      await listen(server.listener, { path: unix.file });
      servers.push(server);
      socketPath = unix.file;
      if (unix.auth === null) log.critical("Server 'unix_http_server' running without any HTTP authentication checking");
      await chmod(unix.file, unix.chmod);
      if (unix.chown !== null) {
        const uid = lookupId('/etc/passwd', unix.chown.user);
        const gid = unix.chown.group !== null ? lookupId('/etc/group', unix.chown.group) : primaryGid(unix.chown.user);
        await chown(unix.file, uid, gid);
      }
    }
    const inet = config.inetHttpServer;
    if (inet !== null) {
      const server = createControlServer(rpc, control, inet.auth, log);
      await listen(server.listener, inet.host === '' || inet.host === '*' ? { port: inet.port } : { port: inet.port, host: inet.host });
      servers.push(server);
      if (inet.auth === null) log.critical("Server 'inet_http_server' running without any HTTP authentication checking");
      const address = server.listener.address();
      inetPort = typeof address === 'object' && address !== null ? address.port : inet.port;
    }
  } catch (error) {
    await closeAll();
    throw error;
  }

  return {
    socketPath,
    inetPort,
    close: closeAll,
  };
}
