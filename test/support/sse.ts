// A Server-Sent Events client on a real socket, for tests and benchmarks: frames parsed as they come.
import http from 'node:http';

export interface SseFrame {
  id: string | undefined;
  data: string;
}

export interface SseClient {
  status: Promise<number>;
  frames: SseFrame[];
  /** Comment lines received (heartbeats), without the leading colon. */
  comments: string[];
  /** Called with each frame as it is parsed (after it is pushed to `frames`). */
  onFrame?: (frame: SseFrame) => void;
  closed: Promise<void>;
  close(): void;
}

export function openSse(url: string, headers: Record<string, string> = {}): SseClient {
  let resolveStatus: (status: number) => void = () => undefined;
  let resolveClosed: () => void = () => undefined;
  const client: SseClient = {
    status: new Promise((resolve) => (resolveStatus = resolve)),
    closed: new Promise((resolve) => (resolveClosed = resolve)),
    frames: [],
    comments: [],
    close: () => request.destroy(),
  };
  const request = http.get(url, { headers: { accept: 'text/event-stream', ...headers }, agent: false }, (res) => {
    resolveStatus(res.statusCode ?? 0);
    res.setEncoding('utf8');
    let buffer = '';
    res.on('data', (chunk: string) => {
      buffer += chunk;
      for (let end = buffer.indexOf('\n\n'); end >= 0; end = buffer.indexOf('\n\n')) {
        const block = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        let id: string | undefined;
        const data: string[] = [];
        for (const line of block.split('\n')) {
          if (line.startsWith(':')) client.comments.push(line.slice(1).trim());
          else if (line.startsWith('id: ')) id = line.slice(4);
          else if (line.startsWith('data: ')) data.push(line.slice(6));
        }
        if (data.length > 0) {
          const frame = { id, data: data.join('\n') };
          client.frames.push(frame);
          client.onFrame?.(frame);
        }
      }
    });
    res.on('close', resolveClosed);
  });
  request.on('error', () => {
    resolveStatus(0);
    resolveClosed();
  });
  return client;
}
