// One HTTP request over node:http(s) keep-alive agents, its reply read whole: RunningHub's client
// (src/runninghub/transport.ts) and the simulator's webhook sender use it. Not fetch: undici's fetch costs
// ~0.5 ms of JavaScript per call at the median and several at p90 (its web streams), on the path from a
// freed slot to the next submission that npm run bench:processor measures. Redirects are not followed.
import http from 'node:http';
import https from 'node:https';

export interface KeepAliveAgents {
  http: http.Agent;
  https: https.Agent;
}

/** Agents that keep connections open between requests (an idle one never keeps the process alive). */
export function keepAliveAgents(options: { idleTimeoutMs?: number } = {}): KeepAliveAgents {
  const settings = { keepAlive: true, ...(options.idleTimeoutMs === undefined ? {} : { timeout: options.idleTimeoutMs }) };
  return { http: new http.Agent(settings), https: new https.Agent(settings) };
}

export interface HttpExchangeOptions {
  agents: KeepAliveAgents;
  headers: http.OutgoingHttpHeaders;
  /** Sent as a POST with its Content-Length; without it, a GET. */
  body?: string | undefined;
  signal: AbortSignal;
  /** Bytes of the reply's body kept (the rest is read and dropped, so the connection can be reused). */
  keepBodyBytes?: number;
  /** The whole request was handed to the operating system. */
  onSent?: () => void;
}

export interface HttpReply {
  status: number;
  statusText: string;
  body: Buffer;
}

/** Resolves once the whole reply has arrived; a reply cut short (a connection closed, an abort) is an error. */
export function httpExchange(url: string, options: HttpExchangeOptions): Promise<HttpReply> {
  return new Promise((resolve, reject) => {
    const target = new URL(url);
    const secure = target.protocol === 'https:';
    if (!secure && target.protocol !== 'http:') {
      reject(new Error(`unsupported protocol ${target.protocol}`));
      return;
    }
    const headers = options.body === undefined ? options.headers : { ...options.headers, 'content-length': Buffer.byteLength(options.body) };
    const request = (secure ? https : http).request(
      target,
      { method: options.body === undefined ? 'GET' : 'POST', headers, agent: secure ? options.agents.https : options.agents.http, signal: options.signal },
      (response) => {
        const chunks: Buffer[] = [];
        let kept = 0;
        const keep = options.keepBodyBytes ?? Infinity;
        response.on('data', (chunk: Buffer) => {
          if (kept >= keep) return;
          chunks.push(chunk);
          kept += chunk.length;
        });
        response.on('error', reject);
        response.on('close', () => {
          if (response.complete) resolve({ status: response.statusCode ?? 0, statusText: response.statusMessage ?? '', body: Buffer.concat(chunks) });
          else reject(Object.assign(new Error('the connection closed before the reply was complete'), { code: 'ECONNRESET' }));
        });
      },
    );
    request.on('error', reject);
    if (options.onSent) request.on('finish', options.onSent);
    request.end(options.body);
  });
}
