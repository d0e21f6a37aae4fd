// supervisorctl's two ways to reach supervisord (src/supervisor/ctl/connection.ts): libuv's handles, which
// the command-line client uses, and node:net. Both against real servers on a Unix socket, 127.0.0.1 and ::1:
// the same bytes, the same events, the same errors worded the same way.
import { mkdtemp, rm } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openConnection, type Connection, type ConnectTarget } from '../../../src/supervisor/ctl/connection.js';
import { waitFor } from '../../support/wait.js';

const REQUEST = Buffer.from('POST /RPC2 HTTP/1.1\r\nContent-Length: 0\r\n\r\n');
/** A reply larger than one read (64 KiB), with a pattern that shows a lost or reordered piece. */
const REPLY = Buffer.from(Array.from({ length: 1024 * 1024 }, (_, i) => (i * 7 + (i >> 10)) % 251));

interface Talk {
  events: string[];
  received: Buffer;
  error: NodeJS.ErrnoException | undefined;
  way: Connection['way'];
}

/** Connects, sends REQUEST once connected, and collects what comes back until the end or an error. */
function talk(target: ConnectTarget, handles: boolean): Promise<Talk> {
  return new Promise((resolve) => {
    const events: string[] = [];
    const chunks: Buffer[] = [];
    const done = (error?: NodeJS.ErrnoException) => resolve({ events, received: Buffer.concat(chunks), error, way: connection.way });
    const connection = openConnection(
      target,
      {
        connected: () => {
          events.push('connected');
          connection.write(REQUEST);
        },
        data: (chunk) => {
          if (events.at(-1) !== 'data') events.push('data');
          chunks.push(chunk);
        },
        end: () => {
          events.push('end');
          done();
        },
        error: (error) => {
          events.push('error');
          done(error);
        },
      },
      { handles },
    );
  });
}

/** A server that answers REQUEST with REPLY and ends the connection; `requests` collects what it was sent. */
function replyingServer(requests: Buffer[]): net.Server {
  return net.createServer((socket) => {
    let got = Buffer.alloc(0);
    socket.on('data', (chunk: Buffer) => {
      got = Buffer.concat([got, chunk]);
      if (got.length >= REQUEST.length) {
        requests.push(got);
        socket.end(REPLY);
      }
    });
  });
}

function listen(server: net.Server, where: string | { host: string; port: number }): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    if (typeof where === 'string') server.listen(where, () => resolve());
    else server.listen(where.port, where.host, () => resolve());
  });
}

function portOf(server: net.Server): number {
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('not a TCP server');
  return address.port;
}

/** A TCP port nobody listens on (bound, then closed). */
async function closedPort(): Promise<number> {
  const server = net.createServer();
  await listen(server, { host: '127.0.0.1', port: 0 });
  const port = portOf(server);
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

describe('supervisorctl connections: libuv handles and node:net', () => {
  let dir: string;
  const servers: net.Server[] = [];
  const requests: Buffer[] = [];
  const targets: Record<string, ConnectTarget> = {};

  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'ctl-connection-'));
    const unix = replyingServer(requests);
    const v4 = replyingServer(requests);
    const v6 = replyingServer(requests);
    servers.push(unix, v4, v6);
    await listen(unix, path.join(dir, 'sock'));
    await listen(v4, { host: '127.0.0.1', port: 0 });
    await listen(v6, { host: '::1', port: 0 });
    targets.unix = { kind: 'unix', path: path.join(dir, 'sock') };
    targets.ipv4 = { kind: 'http', host: '127.0.0.1', port: portOf(v4) };
    targets.ipv6 = { kind: 'http', host: '::1', port: portOf(v6) };
  });

  afterAll(async () => {
    await Promise.all(servers.map((server) => new Promise<void>((resolve) => server.close(() => resolve()))));
    await rm(dir, { recursive: true, force: true });
  });

  for (const name of ['unix', 'ipv4', 'ipv6']) {
    it(`${name}: both ways send the request and receive a 1 MiB reply whole, then the end`, async () => {
      for (const handles of [true, false]) {
        const before = requests.length;
        const result = await talk(targets[name]!, handles);
        expect(result.way).toBe(handles ? 'libuv handles' : 'node:net');
        expect(result.error).toBeUndefined();
        expect(result.events).toEqual(['connected', 'data', 'end']);
        expect(result.received.equals(REPLY), `${result.way}: ${result.received.length} bytes`).toBe(true);
        expect(requests.slice(before)).toEqual([REQUEST]);
      }
    });
  }

  it('a request larger than the socket buffers (written partly later) arrives whole on both ways', async () => {
    const big = Buffer.from(Array.from({ length: 4 * 1024 * 1024 }, (_, i) => (i * 13 + (i >> 12)) % 253));
    const received = { bytes: Buffer.alloc(0) };
    const server = net.createServer((socket) => {
      const chunks: Buffer[] = [];
      let length = 0;
      socket.on('data', (chunk: Buffer) => {
        chunks.push(chunk);
        length += chunk.length;
        if (length >= big.length) {
          received.bytes = Buffer.concat(chunks);
          socket.end('ok');
        }
      });
    });
    await listen(server, path.join(dir, 'big-request'));
    try {
      for (const handles of [true, false]) {
        received.bytes = Buffer.alloc(0);
        const reply = await new Promise<string>((resolve, reject) => {
          let text = '';
          const connection = openConnection(
            { kind: 'unix', path: path.join(dir, 'big-request') },
            { connected: () => connection.write(big), data: (chunk) => (text += chunk.toString()), end: () => resolve(text), error: reject },
            { handles },
          );
        });
        expect(reply).toBe('ok');
        expect(received.bytes.equals(big), `${handles ? 'libuv handles' : 'node:net'}: ${received.bytes.length} bytes`).toBe(true);
      }
    } finally {
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });

  it('a host name goes through node:net even when the handles are wanted (node:net resolves it)', async () => {
    const result = await talk({ kind: 'http', host: 'localhost', port: portOf(servers[1]!) }, true);
    expect(result.way).toBe('node:net');
    // localhost may resolve to ::1 first, where nothing listens on this port: either answer is node:net's own.
    if (result.error === undefined) expect(result.received.equals(REPLY)).toBe(true);
    else expect(result.error.code).toBe('ECONNREFUSED');
  });

  it('an address that only looks like IPv6 goes to node:net (whose name lookup then fails)', () => {
    const events: string[] = [];
    const record = (event: string) => () => events.push(event);
    const connection = openConnection({ kind: 'http', host: '1:2:3', port: 9 }, { connected: record('connected'), data: record('data'), end: record('end'), error: record('error') }, { handles: true });
    expect(connection.way).toBe('node:net');
    // Closed before the lookup answers (which could wait for a resolver here): no handler runs after close().
    connection.close();
    expect(events).toEqual([]);
  });

  it('a missing socket and a closed port: the same errors, worded as node:net words them, never from inside openConnection', async () => {
    const missing = path.join(dir, 'nosock');
    const port = await closedPort();
    for (const handles of [true, false]) {
      const enoent = await talk({ kind: 'unix', path: missing }, handles);
      expect(enoent.events).toEqual(['error']);
      expect({ code: enoent.error?.code, message: enoent.error?.message }).toEqual({ code: 'ENOENT', message: `connect ENOENT ${missing}` });
      const refused = await talk({ kind: 'http', host: '127.0.0.1', port }, handles);
      expect(refused.events).toEqual(['error']);
      expect({ code: refused.error?.code, message: refused.error?.message }).toEqual({ code: 'ECONNREFUSED', message: `connect ECONNREFUSED 127.0.0.1:${port}` });

      let returned = false;
      const calledAfterReturn = await new Promise<boolean>((resolve) => {
        openConnection(
          { kind: 'unix', path: missing },
          { connected: () => resolve(false), data: () => resolve(false), end: () => resolve(false), error: () => resolve(returned) },
          { handles },
        );
        returned = true;
      });
      expect(calledAfterReturn, handles ? 'libuv handles' : 'node:net').toBe(true);
    }
  });

  it('a connection reset by the server is an ECONNRESET error on both ways', async () => {
    const server = net.createServer((socket) => socket.once('data', () => socket.resetAndDestroy()));
    await listen(server, { host: '127.0.0.1', port: 0 });
    try {
      for (const handles of [true, false]) {
        const result = await talk({ kind: 'http', host: '127.0.0.1', port: portOf(server) }, handles);
        expect(result.events, handles ? 'libuv handles' : 'node:net').toEqual(['connected', 'error']);
        expect({ code: result.error?.code, message: result.error?.message }).toEqual({ code: 'ECONNRESET', message: 'read ECONNRESET' });
      }
    } finally {
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });

  it('after close() no handler runs, and the server sees the connection go', async () => {
    for (const handles of [true, false]) {
      let serverSideClosed = false;
      // Streams without end until the client goes.
      const server = net.createServer((socket) => {
        const chunk = Buffer.alloc(16 * 1024, 1);
        const pump = () => {
          while (!socket.destroyed && socket.write(chunk));
        };
        socket.on('drain', pump);
        socket.on('error', () => undefined);
        socket.on('close', () => (serverSideClosed = true));
        pump();
      });
      await listen(server, path.join(dir, `stream-${handles}`));
      try {
        const after: string[] = [];
        let closed = false;
        await new Promise<void>((resolve) => {
          const connection: Connection = openConnection(
            { kind: 'unix', path: path.join(dir, `stream-${handles}`) },
            {
              connected: () => undefined,
              data: () => {
                if (closed) after.push('data');
                else {
                  closed = true;
                  connection.close();
                  resolve();
                }
              },
              end: () => after.push('end'),
              error: () => after.push('error'),
            },
            { handles },
          );
        });
        await waitFor('the server to see the connection closed', () => serverSideClosed);
        expect(after, handles ? 'libuv handles' : 'node:net').toEqual([]);
      } finally {
        await new Promise<void>((resolve) => server.close(() => resolve()));
      }
    }
  });
});
