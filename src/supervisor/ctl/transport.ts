// supervisorctl's side of the wire: one XML-RPC call per HTTP connection (as Python's
// SupervisorTransport), to `unix:///path` or `http://host:port`, with the same request headers.
import { request, type IncomingMessage } from 'node:http';
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

export type ServerTarget = { kind: 'unix'; path: string } | { kind: 'http'; host: string; port: number };

export function parseServerUrl(serverurl: string): ServerTarget {
  if (serverurl.startsWith('unix://')) return { kind: 'unix', path: serverurl.slice('unix://'.length) };
  const url = new URL(serverurl);
  if (url.protocol !== 'http:') throw new Error(`value '${serverurl}' is not a URL`);
  return { kind: 'http', host: url.hostname || 'localhost', port: url.port === '' ? 80 : Number(url.port) };
}

export interface Credentials {
  username: string | null;
  password: string | null;
}

export function authorizationHeader(credentials: Credentials): string | undefined {
  if (credentials.username === null && credentials.password === null) return undefined;
  const token = Buffer.from(`${credentials.username ?? ''}:${credentials.password ?? ''}`, 'utf8').toString('base64');
  return `Basic ${token}`;
}

function connectionTarget(target: ServerTarget): { socketPath: string } | { host: string; port: number } {
  return target.kind === 'unix' ? { socketPath: target.path } : { host: target.host, port: target.port };
}

/** GET a streaming endpoint (`/logtail/...`); resolves with the response once the headers are in. */
export function openStream(target: ServerTarget, path: string, credentials: Credentials): Promise<IncomingMessage> {
  return new Promise((resolve, reject) => {
    const auth = authorizationHeader(credentials);
    const req = request({
      ...connectionTarget(target),
      method: 'GET',
      path,
      agent: false,
      // No `Connection: close`: supervisord's HTTP server then buffers the stream instead of chunking it.
      headers: {
        Host: target.kind === 'unix' ? 'localhost' : `${target.host}:${target.port}`,
        Connection: 'keep-alive',
        'Accept-Encoding': 'chunked',
        Accept: '*/*',
        ...(auth ? { Authorization: auth } : {}),
      },
    });
    req.on('response', resolve);
    req.on('error', (error: NodeJS.ErrnoException) => reject(new RpcConnectionError(error.code ?? 'EIO', error.message)));
    req.end();
  });
}

export class XmlRpcClient {
  constructor(
    readonly target: ServerTarget,
    private readonly credentials: Credentials,
  ) {}

  call(methodName: string, params: readonly XmlRpcValue[] = []): Promise<XmlRpcValue> {
    const body = Buffer.from(encodeCall(methodName, params), 'utf8');
    const auth = authorizationHeader(this.credentials);
    return new Promise((resolve, reject) => {
      const req = request({
        ...connectionTarget(this.target),
        method: 'POST',
        path: '/RPC2',
        agent: false,
        headers: {
          Host: this.target.kind === 'unix' ? 'localhost' : `${this.target.host}:${this.target.port}`,
          'Accept-Encoding': 'identity',
          'User-Agent': 'Python-xmlrpc/3.11',
          'Content-Type': 'text/xml',
          Accept: 'text/xml',
          ...(auth ? { Authorization: auth } : {}),
          'Content-Length': body.length,
        },
      });
      req.on('error', (error: NodeJS.ErrnoException) => reject(new RpcConnectionError(error.code ?? 'EIO', error.message)));
      req.on('response', (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('error', (error) => reject(new RpcConnectionError('EIO', error.message)));
        res.on('end', () => {
          if (res.statusCode !== 200) {
            reject(new RpcProtocolError(res.statusCode ?? 0, res.statusMessage ?? ''));
            return;
          }
          try {
            const response = decodeResponse(Buffer.concat(chunks).toString('utf8'));
            if (response.kind === 'fault') reject(new RpcFault(response.fault.faultCode, response.fault.faultString));
            else resolve(response.value);
          } catch (error) {
            reject(error instanceof XmlRpcParseError ? error : new XmlRpcParseError(String(error)));
          }
        });
      });
      req.end(body);
    });
  }
}
