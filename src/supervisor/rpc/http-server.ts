// supervisord's HTTP front: basic auth before anything runs, POST /RPC2 (XML-RPC), and the
// /logtail/<name>[/<channel>] and /mainlogtail streams that `supervisorctl tail -f` / `maintail -f` read,
// GET /metrics (Prometheus, metrics.ts), and the web console's pages (../console).
import { createHash, timingSafeEqual } from 'node:crypto';
import { open, stat, type FileHandle } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { SupervisorFault, type HttpAuth, type SupervisorControl } from '../types.js';
import { splitNamespec } from '../protocol.js';
import { consoleMethods, consoleView, serveConsole, serverUrlOf, type ConsoleReply, type ConsoleView } from '../console/index.js';
import type { SupervisorRpc } from './methods.js';
import { METRICS_CONTENT_TYPE, renderMetrics } from './metrics.js';
import { decodeCall, encodeFault, encodeResult, XmlRpcParseError } from './xmlrpc.js';

export interface ControlLog {
  info(msg: string): void;
  warn(msg: string): void;
  critical(msg: string): void;
}

/** supervisorctl sends a few hundred bytes; multicalls stay far below this. */
export const MAX_BODY_BYTES = 1024 * 1024;
/** How much of a log `tail -f` starts with (supervisord's tail_f_producer head). */
const TAIL_HEAD_BYTES = 1024;
const TAIL_POLL_MS = 100;

const REASONS: Record<number, string> = {
  301: 'Moved Permanently',
  400: 'Bad Request',
  401: 'Unauthorized',
  404: 'Not Found',
  405: 'Method Not Allowed',
  413: 'Request Entity Too Large',
  500: 'Internal Server Error',
};

/** Medusa's error page, byte for byte (CRLF line ends). */
function errorPage(code: number): string {
  return [
    '<head>',
    '<title>Error response</title>',
    '</head>',
    '<body>',
    '<h1>Error response</h1>',
    `<p>Error code ${code}.`,
    `<p>Message: ${REASONS[code] ?? 'Error'}.`,
    '</body>',
    '',
  ].join('\r\n');
}

function sendError(res: ServerResponse, code: number, extraHeaders: Record<string, string> = {}): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const body = errorPage(code);
  res.writeHead(code, REASONS[code] ?? 'Error', {
    ...extraHeaders,
    'Content-Length': Buffer.byteLength(body),
    'Content-Type': 'text/html',
  });
  res.end(body);
}

/** Runs `reply` once the request body has arrived (bodies over the limit are not waited for). */
function afterBody(req: IncomingMessage, reply: () => void): void {
  if (req.complete || Number(req.headers['content-length'] ?? '0') > MAX_BODY_BYTES) {
    req.resume();
    reply();
    return;
  }
  req.once('end', reply);
  req.resume();
}

function sha1(text: string): Buffer {
  return createHash('sha1').update(text, 'utf8').digest();
}

/** Plain or `{SHA}`-hex password; compared in constant time. */
export function credentialsMatch(auth: HttpAuth, header: string | undefined): boolean {
  if (header === undefined) return false;
  const match = /^\s*basic\s+(\S+)\s*$/i.exec(header);
  if (!match?.[1]) return false;
  const decoded = Buffer.from(match[1], 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon === -1) return false;
  const username = decoded.slice(0, colon);
  const password = decoded.slice(colon + 1);
  const userOk = timingSafeEqual(sha1(username), sha1(auth.username));
  let passwordOk: boolean;
  if (auth.password.startsWith('{SHA}')) {
    const stored = auth.password.slice(5).toLowerCase();
    passwordOk = timingSafeEqual(sha1(sha1(password).toString('hex')), sha1(stored));
  } else {
    passwordOk = timingSafeEqual(sha1(password), sha1(auth.password));
  }
  return userOk && passwordOk;
}

export function createRequestHandler(
  rpc: SupervisorRpc,
  control: SupervisorControl,
  auth: HttpAuth | null,
  log: ControlLog,
): (req: IncomingMessage, res: ServerResponse) => void {
  return (req, res) => {
    // supervisord's header order: Server, Date, then the reply's own headers.
    res.sendDate = false;
    res.setHeader('Server', 'Medusa/1.12');
    res.setHeader('Date', new Date().toUTCString());
    if (auth !== null && !credentialsMatch(auth, req.headers.authorization)) {
      // Read the (small) body first: replying and closing while the client is still sending it
      // makes the client fail with EPIPE instead of reading the 401 (Python's does).
      afterBody(req, () => sendError(res, 401, { Connection: 'close', 'WWW-Authenticate': 'Basic realm="default"' }));
      return;
    }
    const url = req.url ?? '/';
    if (url.startsWith('/RPC2')) {
      if (req.method !== 'POST') {
        req.resume();
        sendError(res, 400);
        return;
      }
      handleRpc(rpc, req, res, log).catch((error: unknown) => {
        log.critical(`Handling XML-RPC request raised an unexpected exception: ${String(error)}`);
        sendError(res, 500);
      });
      return;
    }
    if (url.startsWith('/logtail') || url.startsWith('/mainlogtail')) {
      req.resume();
      if (req.method !== 'GET') {
        sendError(res, 400);
        return;
      }
      const path = url.startsWith('/mainlogtail') ? control.mainLogfile() : processLogPath(control, url);
      streamLog(path, res).catch((error: unknown) => {
        log.warn(`log tail of ${path ?? '(none)'} failed: ${String(error)}`);
        sendError(res, 500);
      });
      return;
    }
    if (url === '/metrics' || url.startsWith('/metrics?')) {
      req.resume();
      if (req.method !== 'GET' && req.method !== 'HEAD') {
        sendError(res, 400);
        return;
      }
      const body = Buffer.from(renderMetrics(control), 'utf8');
      res.writeHead(200, 'OK', { 'Content-Type': METRICS_CONTENT_TYPE, 'Content-Length': body.length });
      res.end(req.method === 'HEAD' ? undefined : body);
      return;
    }
    const view = consoleView(url);
    if (view !== null && consoleMethods(view).includes(req.method ?? '')) {
      handleConsole(view, rpc, control, req, res).catch((error: unknown) => {
        log.critical(`Web interface error: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
        sendError(res, 500);
      });
      return;
    }
    req.resume();
    sendError(res, 404);
  };
}

/** No caching anywhere: the pages show live state (supervisord's headers). */
const NO_CACHE = { Pragma: 'no-cache', 'Cache-Control': 'no-cache', Expires: 'Thu, 01 Jan 1970 00:00:00 GMT' };

async function handleConsole(view: ConsoleView, rpc: SupervisorRpc, control: SupervisorControl, req: IncomingMessage, res: ServerResponse): Promise<void> {
  let formBody = '';
  if (req.method === 'POST') {
    const body = await readBody(req);
    if (body === null) {
      sendError(res, 413, { Connection: 'close' });
      res.on('finish', () => req.destroy());
      return;
    }
    formBody = body.toString('utf8');
  } else {
    req.resume();
  }
  const url = req.url ?? '/';
  const queryAt = url.indexOf('?');
  const reply: ConsoleReply = await serveConsole(rpc, control, {
    view,
    query: queryAt === -1 ? '' : url.slice(queryAt + 1),
    formBody,
    serverUrl: serverUrlOf(req.headers.host, 'localhost'),
  });
  if (res.destroyed) return;
  if (reply.kind === 'error') {
    sendError(res, reply.code);
    return;
  }
  if (reply.kind === 'redirect') {
    // supervisord answers an action with a permanent redirect to `/?message=…` (its error page as the body).
    sendError(res, 301, { Location: reply.location, ...NO_CACHE });
    return;
  }
  const body = Buffer.from(reply.body, 'utf8');
  res.writeHead(200, 'OK', { 'Content-Type': reply.contentType, ...NO_CACHE, 'Content-Length': body.length });
  res.end(req.method === 'HEAD' ? undefined : body);
}

function readBody(req: IncomingMessage): Promise<Buffer | null> {
  return new Promise((resolve, reject) => {
    const declared = Number(req.headers['content-length'] ?? '0');
    if (declared > MAX_BODY_BYTES) {
      req.resume();
      resolve(null);
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    let done = false;
    req.on('data', (chunk: Buffer) => {
      if (done) return;
      size += chunk.length;
      if (size > MAX_BODY_BYTES) {
        done = true;
        resolve(null);
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => {
      // Bytes: decodeCall refuses a body that is not UTF-8 instead of guessing.
      if (!done) resolve(Buffer.concat(chunks));
    });
    req.on('error', reject);
  });
}

async function handleRpc(rpc: SupervisorRpc, req: IncomingMessage, res: ServerResponse, log: ControlLog): Promise<void> {
  const body = await readBody(req);
  if (body === null) {
    sendError(res, 413, { Connection: 'close' });
    res.on('finish', () => req.destroy());
    return;
  }
  let call;
  try {
    call = decodeCall(body);
  } catch (error) {
    if (!(error instanceof XmlRpcParseError)) throw error;
    log.warn(`XML-RPC request data is invalid: ${error.message}`);
    sendError(res, 400);
    return;
  }
  if (call.methodName === '') {
    log.warn('XML-RPC request data is invalid: no method name');
    sendError(res, 400);
    return;
  }
  let xml: string;
  try {
    xml = encodeResult(await rpc.call(call.methodName, call.params));
  } catch (error) {
    if (!(error instanceof SupervisorFault)) throw error;
    xml = encodeFault({ faultCode: error.code, faultString: error.message });
  }
  if (res.destroyed) return;
  const bytes = Buffer.from(xml, 'utf8');
  res.writeHead(200, 'OK', { 'Content-Type': 'text/xml', 'Content-Length': bytes.length });
  res.end(bytes);
}

/** `/logtail/<namespec>[/<stdout|stderr>]` → the log file path, or null (404). */
function processLogPath(control: SupervisorControl, url: string): string | null {
  let path = url.split('?')[0] ?? '';
  try {
    path = decodeURIComponent(path);
  } catch {
    return null;
  }
  const rest = path.replace(/^\/+/, '').split('/').slice(1);
  const spec = rest[0] ?? '';
  const channel = rest.length > 1 ? rest.slice(1).join('/') : 'stdout';
  if (channel !== 'stdout' && channel !== 'stderr') return null;
  const { group, process: name } = splitNamespec(spec);
  const info = control.processes().find((p) => p.group === group && p.name === name);
  if (info === undefined) return null;
  const file = channel === 'stdout' ? info.stdoutLogfile : info.stderrLogfile;
  return file === '' ? null : file;
}

async function streamLog(path: string | null, res: ServerResponse): Promise<void> {
  if (path === null) {
    sendError(res, 404);
    return;
  }
  let handle: FileHandle;
  try {
    handle = await open(path, 'r');
  } catch {
    sendError(res, 404);
    return;
  }
  let inode = (await handle.stat()).ino;
  const initialSize = (await handle.stat()).size;
  let position = initialSize >= TAIL_HEAD_BYTES ? initialSize - TAIL_HEAD_BYTES : 0;
  const mtime = (await handle.stat()).mtime;
  res.writeHead(200, 'OK', {
    'Last-Modified': mtime.toUTCString(),
    'Content-Type': 'text/plain;charset=utf-8',
    'X-Accel-Buffering': 'no',
  });
  let stopped = false;
  let busy = false;
  const stop = (): void => {
    if (stopped) return;
    stopped = true;
    clearInterval(timer);
    handle.close().catch(() => undefined);
  };
  const pump = async (): Promise<void> => {
    // A slow reader: wait for the socket to drain rather than buffer a fast-growing log in memory.
    if (busy || stopped || res.writableNeedDrain) return;
    busy = true;
    try {
      // Rotation replaces the file: follow the new one from its start.
      const current = await stat(path).catch(() => undefined);
      if (current !== undefined && current.ino !== inode) {
        await handle.close();
        handle = await open(path, 'r');
        inode = (await handle.stat()).ino;
        position = 0;
      }
      const size = (await handle.stat()).size;
      if (size < position) {
        position = 0;
        res.write('==> File truncated <==\n');
      }
      while (size > position && !stopped) {
        const count = Math.min(size - position, 64 * 1024);
        const buffer = Buffer.alloc(count);
        const { bytesRead } = await handle.read(buffer, 0, count, position);
        if (bytesRead === 0) break;
        position += bytesRead;
        if (!res.write(buffer.subarray(0, bytesRead))) break;
      }
    } catch {
      stop();
      res.end();
    } finally {
      busy = false;
    }
  };
  // The stream lives as long as the client; it must not keep the daemon alive on its own.
  const timer = setInterval(() => void pump(), TAIL_POLL_MS);
  timer.unref();
  res.on('close', stop);
  await pump();
}

