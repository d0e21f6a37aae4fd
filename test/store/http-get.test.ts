// The download client's HTTP/1.1 reading against real loopback servers that write exact bytes
// (net.createServer, tls.createServer): chunked bodies with extensions and trailers, framing it must
// refuse, bodies cut short, 1xx, read-until-close, keep-alive reuse (and a pooled connection the server
// closed), redirects, https with certificate checks, the idle timeout.
import { execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import net, { type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import tls from 'node:tls';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { spareSlabCount } from '../../src/store/http-get.js';
import { discardFile, DownloadError, downloadToTemporary, FileTooLargeError, type DownloadOptions } from '../../src/store/index.js';
import { waitFor } from '../support/wait.js';

/** What the server answers to one request, written as given; `close` ends the connection after it, `drop` drops it unanswered. */
type Answer = { bytes: (Buffer | string)[]; close?: boolean; drop?: boolean };

interface RawServer {
  url: (urlPath: string) => string;
  connections: number;
  requests: string[];
  close: () => Promise<void>;
}

/** A server that reads requests (each ends at an empty line) and writes `answer(path)`'s bytes, one write each. */
async function rawServer(answer: (urlPath: string, nthOnConnection: number) => Answer, secure?: { key: string; cert: string }): Promise<RawServer> {
  const sockets = new Set<net.Socket>();
  const state = { connections: 0, requests: [] as string[] };
  const onSocket = (socket: net.Socket) => {
    state.connections++;
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => undefined);
    let pending = '';
    let nth = 0;
    socket.on('data', (data: Buffer) => {
      pending += data.toString('latin1');
      for (let end = pending.indexOf('\r\n\r\n'); end >= 0; end = pending.indexOf('\r\n\r\n')) {
        const request = pending.slice(0, end);
        pending = pending.slice(end + 4);
        const urlPath = request.split(' ')[1]!;
        state.requests.push(urlPath);
        const reply = answer(urlPath, nth++);
        if (reply.drop) {
          socket.destroy();
          return;
        }
        for (const bytes of reply.bytes) socket.write(bytes);
        if (reply.close) socket.end();
      }
    });
  };
  const server = secure ? tls.createServer(secure, onSocket) : net.createServer(onSocket);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    url: (urlPath) => `${secure ? 'https' : 'http'}://localhost:${port}${urlPath}`,
    get connections() {
      return state.connections;
    },
    requests: state.requests,
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

const sha256 = (bytes: Buffer): string => createHash('sha256').update(bytes).digest('hex');
const ok = (headers: string, ...body: (Buffer | string)[]): Answer => ({ bytes: [`HTTP/1.1 200 OK\r\n${headers}\r\n`, ...body] });

describe('downloadToTemporary: HTTP/1.1 framing on real sockets', () => {
  let dir: string;
  const servers: RawServer[] = [];
  const serve = async (answer: (urlPath: string, nthOnConnection: number) => Answer, secure?: { key: string; cert: string }) => {
    const server = await rawServer(answer, secure);
    servers.push(server);
    return server;
  };
  const download = (url: string, options: Partial<DownloadOptions> = {}) => downloadToTemporary(url, { dir, idleTimeoutMs: 5_000, allowHttp: true, ...options });
  const failure = (url: string, options: Partial<DownloadOptions> = {}) => download(url, options).then(
    () => {
      throw new Error('downloaded, expected a failure');
    },
    (error: unknown) => error as Error,
  );

  beforeAll(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'http-get-'));
  });
  afterEach(async () => {
    await Promise.all(servers.splice(0).map((s) => s.close()));
    // Whatever failed left no temporary file behind.
    expect(readdirSync(dir)).toEqual([]);
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('reads a chunked body with chunk extensions and trailers, skipping a 103 before it', async () => {
    const server = await serve(() => ({
      bytes: [
        'HTTP/1.1 103 Early Hints\r\nLink: </a.css>; rel=preload\r\n\r\n',
        'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Type: image/png\r\n\r\n',
        Buffer.from('4;name=value;quoted="a;b"\r\n\x89PNG\r\n', 'latin1'),
        'A \r\n0123456789\r\n',
        '0;last\r\nX-Checksum: abc\r\nX-Other: 1\r\n\r\n',
      ],
    }));
    const file = await download(server.url('/chunked.png'));
    expect(readFileSync(file.temporaryPath).toString('latin1')).toBe('\x89PNG0123456789');
    expect(file).toMatchObject({ size: 14, sha256: sha256(Buffer.from('\x89PNG0123456789', 'latin1')), headerContentType: 'image/png' });
    await discardFile(file.temporaryPath);
  });

  it('refuses a bad chunk size, a chunk longer than its size, both Content-Length and chunked, an oversized header block', async () => {
    const bad = await serve((urlPath) => {
      if (urlPath === '/size') return ok('Transfer-Encoding: chunked\r\n', 'zz\r\nabc\r\n0\r\n\r\n');
      if (urlPath === '/long') return ok('Transfer-Encoding: chunked\r\n', '2\r\nabc\r\n0\r\n\r\n');
      if (urlPath === '/both') return ok('Content-Length: 3\r\nTransfer-Encoding: chunked\r\n', '3\r\nabc\r\n0\r\n\r\n');
      if (urlPath === '/status') return { bytes: ['HTTP/1.1 two hundred\r\n\r\n'] };
      return { bytes: [`HTTP/1.1 200 OK\r\nX-Big: ${'a'.repeat(17 * 1024)}\r\n\r\n`] };
    });
    expect((await failure(bad.url('/size'))).message).toBe('the body broke off: bad chunk size line "zz"');
    expect((await failure(bad.url('/long'))).message).toBe('the body broke off: a chunk is longer than its size says (no CRLF after its data)');
    expect((await failure(bad.url('/both'))).message).toBe('the response has both Content-Length and Transfer-Encoding (refused: its length is ambiguous)');
    expect((await failure(bad.url('/status'))).message).toBe('malformed status line "HTTP/1.1 two hundred"');
    const oversized = await failure(bad.url('/big'));
    expect(oversized).toBeInstanceOf(DownloadError);
    expect(oversized).toMatchObject({ message: "the response's header block is larger than 16384 bytes", retryable: true });
  });

  it('fails a body the connection cut: mid-chunk, before Content-Length, and keeps nothing', async () => {
    const cut = await serve((urlPath) =>
      urlPath === '/chunk'
        ? { ...ok('Transfer-Encoding: chunked\r\n', '10\r\n01234'), close: true }
        : { ...ok('Content-Length: 100\r\n', 'x'.repeat(40)), close: true },
    );
    expect((await failure(cut.url('/chunk'))).message).toBe('the body broke off: the connection closed inside the chunked body after 5 bytes');
    expect((await failure(cut.url('/length'))).message).toBe('the body broke off: the connection closed after 40 of 100 bytes');
  });

  it('reads a body without length until the close, and refuses one over maxBytes', async () => {
    const body = randomBytes(300_000);
    const server = await serve(() => ({ ...ok('Connection: close\r\n', body), close: true }));
    const file = await download(server.url('/until-close'));
    expect(file).toMatchObject({ size: body.length, sha256: sha256(body) });
    expect(sha256(readFileSync(file.temporaryPath))).toBe(sha256(body));
    await discardFile(file.temporaryPath);
    expect(await failure(server.url('/until-close'), { maxBytes: 100_000 })).toBeInstanceOf(FileTooLargeError);
  });

  it('reuses a connection whose response was read to its end, not a redirect\'s or one told to close', async () => {
    const body = randomBytes(2 * 1024 * 1024 + 17);
    let closeNext = false;
    const server = await serve((urlPath) => {
      if (urlPath === '/redirect') return { bytes: ['HTTP/1.1 302 Found\r\nLocation: /file\r\nContent-Length: 0\r\n\r\n'] };
      const answer = { ...ok(`Content-Length: ${body.length}\r\n${closeNext ? 'Connection: close\r\n' : ''}`, body), close: closeNext };
      return answer;
    });
    for (let i = 0; i < 3; i++) {
      const file = await download(server.url('/file'));
      expect(file.sha256).toBe(sha256(body));
      await discardFile(file.temporaryPath);
    }
    expect(server.connections).toBe(1);
    // A redirect's response is not read: its connection closes, the target is fetched on the pooled one.
    const redirected = await download(server.url('/redirect'));
    expect(redirected.sha256).toBe(sha256(body));
    await discardFile(redirected.temporaryPath);
    expect(server.requests.slice(-2)).toEqual(['/redirect', '/file']);
    expect(server.connections).toBe(2);
    // Told to close: the next download opens a new connection.
    closeNext = true;
    await discardFile((await download(server.url('/file'))).temporaryPath);
    closeNext = false;
    await discardFile((await download(server.url('/file'))).temporaryPath);
    expect(server.connections).toBe(3);
  });

  it('tries a fresh connection when a pooled one was closed by the server (no byte of a response on it)', async () => {
    // Each connection answers its first request only, and drops the next one unanswered: a server's idle close.
    const server = await serve((_urlPath, nth) => (nth === 0 ? ok('Content-Length: 3\r\n', 'abc') : { bytes: [], drop: true }));
    for (let i = 0; i < 3; i++) {
      const file = await download(server.url(`/n${i}`));
      expect(readFileSync(file.temporaryPath, 'latin1')).toBe('abc');
      await discardFile(file.temporaryPath);
    }
    // Requests 2 and 3 went first to the pooled connection (dropped), then to a new one.
    expect(server.requests).toEqual(['/n0', '/n1', '/n1', '/n2', '/n2']);
    expect(server.connections).toBe(3);
  });

  it('fails a response that stops sending after the idle timeout', async () => {
    const server = await serve(() => ok('Content-Length: 100\r\n', 'half'));
    const error = await failure(server.url('/stall'), { idleTimeoutMs: 200 });
    expect(error).toMatchObject({ message: 'the body broke off: no data for 200 ms', retryable: true });
  });

  it('stops at the abort signal, also between the head and the body, and keeps nothing', async () => {
    const server = await serve(() => ok('Content-Length: 100\r\n', 'half'));
    const controller = new AbortController();
    const error = await failure(server.url('/stall'), { signal: controller.signal, onHeaders: () => controller.abort() });
    expect(error).toMatchObject({ message: 'the body broke off: aborted', retryable: true });
    expect((await failure(server.url('/stall'), { signal: AbortSignal.abort() })).message).toBe('aborted');
  });

  it('speaks https with certificate checks, and reuses its TLS connection', async () => {
    const certDir = mkdtempSync(path.join(tmpdir(), 'http-get-tls-'));
    execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1', '-subj', '/CN=localhost', '-addext', 'subjectAltName=DNS:localhost', '-keyout', path.join(certDir, 'key.pem'), '-out', path.join(certDir, 'cert.pem')], { stdio: 'ignore' });
    const key = readFileSync(path.join(certDir, 'key.pem'), 'utf8');
    const cert = readFileSync(path.join(certDir, 'cert.pem'), 'utf8');
    rmSync(certDir, { recursive: true, force: true });
    const body = randomBytes(3 * 1024 * 1024);
    const server = await serve(() => ok(`Content-Length: ${body.length}\r\n`, body), { key, cert });
    for (let i = 0; i < 2; i++) {
      const file = await download(server.url('/secure.png'), { ca: cert, allowHttp: false });
      expect(sha256(readFileSync(file.temporaryPath))).toBe(sha256(body));
      await discardFile(file.temporaryPath);
    }
    expect(server.connections).toBe(1);
    // Without our CA the certificate is not trusted; by IP address it does not name the host either.
    expect((await failure(server.url('/secure.png'), { allowHttp: false })).message).toMatch(/self.signed certificate/i);
    expect((await failure(server.url('/secure.png').replace('localhost', '127.0.0.1'), { ca: cert })).message).toMatch(/IP: 127\.0\.0\.1 is not in the cert's list/);
  });

  it('reuses its read buffers across downloads at once (at most SPARE_SLABS kept) and drops them once unused', async () => {
    const body = randomBytes(8 * 1024 * 1024);
    const server = await serve(() => ok(`Content-Length: ${body.length}\r\n`, body));
    const files = await Promise.all(Array.from({ length: 6 }, (_, i) => download(server.url(`/big-${i}.png`))));
    for (const file of files) {
      expect(sha256(readFileSync(file.temporaryPath))).toBe(sha256(body));
      await discardFile(file.temporaryPath);
    }
    const spares = spareSlabCount();
    expect(spares).toBeGreaterThan(0);
    expect(spares).toBeLessThanOrEqual(16);
    // Nothing taken or given back for a few seconds: the spares go (a poll with a deadline, not a sleep).
    await waitFor('the spare read buffers dropped', () => spareSlabCount() === 0, { timeoutMs: 30_000, intervalMs: 100 });
  });
});
