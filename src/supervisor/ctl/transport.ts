// supervisorctl's side of the wire: one XML-RPC call per HTTP connection (as Python's
// SupervisorTransport), to `unix:///path` or `http://host:port`, with the same request headers.
import { exchange, type ConnectTarget } from './http-exchange.js';
import { decodeResponse, encodeCall, XmlRpcParseError, type XmlRpcValue } from '../rpc/xmlrpc.js';

/** The server answered with an XML-RPC fault. */
export class RpcFault extends Error {
  constructor(
    readonly faultCode: number,
    readonly faultString: string,
  ) {
    super(`<Fault ${faultCode}: '${faultString}'>`);
    this.name = 'RpcFault';
  }
}

/** A non-200 HTTP reply (401 for bad credentials). */
export class RpcProtocolError extends Error {
  constructor(
    readonly status: number,
    readonly reason: string,
  ) {
    super(`<ProtocolError for 127.0.0.1/RPC2: ${status} ${reason}>`);
    this.name = 'RpcProtocolError';
  }
}

/** Connecting failed: `code` is the errno name (ENOENT, ECONNREFUSED, EACCES, ...). */
export class RpcConnectionError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'RpcConnectionError';
  }
}

/** Where supervisord listens: a Unix socket, or a host (an IPv6 address without brackets) and port. */
export type ServerTarget = ConnectTarget;

/** A serverurl supervisorctl cannot use, with the ValueError text Python's client gives for it. */
export class ServerUrlError extends Error {
  override name = 'ServerUrlError';
  constructor(
    message: string,
    /** Where Python raises it (its error line names the file and line). */
    readonly where: string,
  ) {
    super(message);
  }
}

const TRANSPORT_PY = '/usr/lib/python3/dist-packages/supervisor/xmlrpc.py line: 505';

export function parseServerUrl(serverurl: string): ServerTarget {
  if (serverurl.startsWith('unix://')) return { kind: 'unix', path: serverurl.slice('unix://'.length) };
  // supervisor's SupervisorTransport takes http:// and unix:// only; urllib then reads the port.
  const parts = /^http:\/\/(?:[^@/]*@)?(\[[^\]]*\]|[^:/?#]*)(?::([^/?#]*))?/i.exec(serverurl);
  if (parts === null) throw new ServerUrlError(`Unknown protocol for serverurl ${serverurl}`, TRANSPORT_PY);
  const [, hostPart = '', portText] = parts;
  let port = 80;
  if (portText !== undefined && portText !== '') {
    if (!/^\d+$/.test(portText)) throw new ServerUrlError(`Port could not be cast to integer value as '${portText}'`, '/usr/lib/python3.11/urllib/parse.py line: 182');
    port = Number(portText);
    if (port > 65_535) throw new ServerUrlError('Port out of range 0-65535', '/usr/lib/python3.11/urllib/parse.py line: 184');
  }
  // An IPv6 address without its URL brackets, as Python's urlparse gives `hostname` (node:net wants it so too).
  const host = (hostPart.startsWith('[') ? hostPart.slice(1, -1) : hostPart).toLowerCase();
  return { kind: 'http', host: host || 'localhost', port };
}

export interface Credentials {
  username: string | null;
  password: string | null;
}

function authorizationHeader(credentials: Credentials): string | undefined {
  if (credentials.username === null && credentials.password === null) return undefined;
  const token = Buffer.from(`${credentials.username ?? ''}:${credentials.password ?? ''}`, 'utf8').toString('base64');
  return `Basic ${token}`;
}

/** The Host header, as Python's http.client writes it (exported for its test). */
export function hostHeader(target: ServerTarget): string {
  if (target.kind === 'unix') return 'localhost';
  // As http.client writes it: an IPv6 address back in brackets, and no port when it is HTTP's own 80.
  const host = target.host.includes(':') ? `[${target.host}]` : target.host;
  return target.port === 80 ? host : `${host}:${target.port}`;
}

function requestBytes(head: string[], body: Buffer = Buffer.alloc(0)): Buffer {
  return Buffer.concat([Buffer.from(`${head.join('\r\n')}\r\n\r\n`, 'latin1'), body]);
}

function connectionError(error: NodeJS.ErrnoException): RpcConnectionError {
  return new RpcConnectionError(error.code ?? 'EIO', error.message);
}

export interface StreamHandlers {
  /** The response status; a non-200 ends the stream right after. */
  status(code: number): void;
  data(chunk: Buffer): void;
  end(): void;
  error(error: RpcConnectionError): void;
}

/** GET a streaming endpoint (`/logtail/...`), as supervisorctl's own http_client does. */
export function openStream(target: ServerTarget, path: string, credentials: Credentials, handlers: StreamHandlers): { close(): void } {
  const auth = authorizationHeader(credentials);
  const head = [`GET ${path} HTTP/1.1`, `Host: ${hostHeader(target)}`, 'Accept-Encoding: chunked', 'Accept: */*', 'User-agent: Supervisor HTTP Client'];
  if (auth) head.push(`Authorization: ${auth}`);
  let ok = false;
  const connection = exchange(target, requestBytes(head), {
    head: (response) => {
      ok = response.status === 200;
      handlers.status(response.status);
      if (!ok) connection.close();
    },
    data: (chunk) => {
      if (ok) handlers.data(chunk);
    },
    end: () => handlers.end(),
    error: (error) => handlers.error(connectionError(error)),
  });
  return connection;
}

export class XmlRpcClient {
  constructor(
    readonly target: ServerTarget,
    private readonly credentials: Credentials,
  ) {}

  call(methodName: string, params: readonly XmlRpcValue[] = []): Promise<XmlRpcValue> {
    const body = Buffer.from(encodeCall(methodName, params), 'utf8');
    const auth = authorizationHeader(this.credentials);
    // Python's xmlrpc.client headers, in its order.
    const head = [
      'POST /RPC2 HTTP/1.1',
      `Host: ${hostHeader(this.target)}`,
      'Accept-Encoding: identity',
      'User-Agent: Python-xmlrpc/3.11',
      'Content-Type: text/xml',
      'Accept: text/xml',
    ];
    if (auth) head.push(`Authorization: ${auth}`);
    head.push(`Content-Length: ${body.length}`);
    return new Promise((resolve, reject) => {
      let status = 0;
      let reason = '';
      const chunks: Buffer[] = [];
      exchange(this.target, requestBytes(head, body), {
        head: (response) => {
          status = response.status;
          reason = response.reason;
        },
        data: (chunk) => chunks.push(chunk),
        error: (error) => reject(connectionError(error)),
        end: () => {
          if (status !== 200) {
            reject(new RpcProtocolError(status, reason));
            return;
          }
          try {
            const response = decodeResponse(Buffer.concat(chunks).toString('utf8'));
            if (response.kind === 'fault') reject(new RpcFault(response.fault.faultCode, response.fault.faultString));
            else resolve(response.value);
          } catch (error) {
            reject(error instanceof XmlRpcParseError ? error : new XmlRpcParseError(String(error)));
          }
        },
      });
    });
  }
}
