// Downloading a file by URL straight into a store's temporary file (files.ts): node:http(s) with the
// response streamed to disk, so memory does not grow with the file, and a body that ends early (a
// dropped connection, fewer bytes than Content-Length) is an error, never a short file.
import http from 'node:http';
import https from 'node:https';
import { HostNotAllowedError, type AllowedHosts } from './allowed-hosts.js';
import { FileTooLargeError, writeToTemporary, type WrittenFile } from './files.js';

/** Why a download failed; `retryable` for transport trouble and 5xx/429, false for other statuses. */
export class DownloadError extends Error {
  override name = 'DownloadError';
  constructor(
    message: string,
    readonly retryable: boolean,
    readonly httpStatus?: number,
  ) {
    super(message);
  }
}

export interface DownloadOptions {
  /** Directory of the temporary file (the final file's directory: the rename stays on one file system). */
  dir: string;
  maxBytes?: number;
  /** No byte for this long: the download fails (retryable). */
  idleTimeoutMs: number;
  signal?: AbortSignal;
  /** http: allowed too (loopback, the simulator); false for URLs clients gave us. */
  allowHttp: boolean;
  maxRedirects?: number;
  /** Only these hosts are requested, the URL's and every redirect's (HostNotAllowedError otherwise); unset: any. */
  allowedHosts?: AllowedHosts;
  /** false: the file is not fdatasync'ed here (the caller calls syncFile before committing it). */
  sync?: boolean;
  /** Debug marks (the processor's timeline): the response's headers in, its last byte written. */
  onHeaders?: () => void;
  onLastByte?: () => void;
}

export interface DownloadedFile extends WrittenFile {
  temporaryPath: string;
  headerContentType: string | undefined;
}

export async function downloadToTemporary(url: string, options: DownloadOptions): Promise<DownloadedFile> {
  let current = url;
  for (let redirects = 0; ; redirects++) {
    const target = parseTarget(current, options.allowHttp);
    if (options.allowedHosts && !options.allowedHosts.allows(target.hostname)) throw new HostNotAllowedError(target.hostname, redirects > 0);
    const response = await get(target, options);
    options.onHeaders?.();
    const status = response.statusCode ?? 0;
    if (status >= 300 && status < 400 && response.headers.location !== undefined) {
      response.resume();
      if (redirects >= (options.maxRedirects ?? 3)) throw new DownloadError(`too many redirects (last to ${response.headers.location})`, false, status);
      current = new URL(response.headers.location, target).toString();
      continue;
    }
    if (status !== 200) {
      response.resume();
      throw new DownloadError(`HTTP ${status} from ${target.host}`, status >= 500 || status === 429 || status === 408, status);
    }
    const declared = response.headers['content-length'] === undefined ? undefined : Number(response.headers['content-length']);
    if (declared !== undefined && options.maxBytes !== undefined && declared > options.maxBytes) {
      response.destroy();
      throw new FileTooLargeError(options.maxBytes);
    }
    let written: WrittenFile & { temporaryPath: string };
    try {
      written = await writeToTemporary(response, options.dir, {
        ...(options.maxBytes !== undefined ? { maxBytes: options.maxBytes } : {}),
        ...(options.signal ? { signal: options.signal } : {}),
        ...(options.sync !== undefined ? { sync: options.sync } : {}),
      });
      options.onLastByte?.();
    } catch (error) {
      if (error instanceof FileTooLargeError) throw error;
      throw new DownloadError(`the body broke off: ${error instanceof Error ? error.message : String(error)}`, true, status);
    }
    if (declared !== undefined && written.size !== declared) {
      throw new DownloadError(`got ${written.size} of ${declared} bytes`, true, status);
    }
    return { ...written, headerContentType: response.headers['content-type'] };
  }
}

function parseTarget(url: string, allowHttp: boolean): URL {
  let target: URL;
  try {
    target = new URL(url);
  } catch {
    throw new DownloadError(`not a URL: ${JSON.stringify(url.slice(0, 200))}`, false);
  }
  if (target.protocol !== 'https:' && !(allowHttp && target.protocol === 'http:')) {
    throw new DownloadError(`only ${allowHttp ? 'http and https' : 'https'} URLs can be fetched, not ${target.protocol}`, false);
  }
  return target;
}

function get(target: URL, options: DownloadOptions): Promise<http.IncomingMessage> {
  return new Promise((resolve, reject) => {
    const request = (target.protocol === 'https:' ? https : http).get(target, { signal: options.signal, headers: { accept: '*/*' } }, resolve);
    request.setTimeout(options.idleTimeoutMs, () => request.destroy(new DownloadError(`no data for ${options.idleTimeoutMs} ms`, true)));
    request.on('error', (error) => reject(error instanceof DownloadError ? error : new DownloadError(`${(error as NodeJS.ErrnoException).code ?? error.name}: ${error.message}`, true)));
  });
}
