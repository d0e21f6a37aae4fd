// Downloading a file by URL straight into a store's temporary file (files.ts): our GET client
// (http-get.ts) hands the body's pieces to a writer that hashes and writes them from the same buffers, so
// memory does not grow with the file, and a body that ends early (a dropped connection, fewer bytes than
// Content-Length, a chunked body without its last chunk) is an error, never a short file.
import { HostNotAllowedError, type AllowedHosts } from './allowed-hosts.js';
import { createTemporaryFile, discardFile, FileTooLargeError, type WrittenFile } from './files.js';
import { httpGet, type HttpResponse } from './http-get.js';
import { HashingPieceWriter } from './piece-writer.js';

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
  /** Certificates trusted for https besides Node's own (a test's CA). */
  ca?: string | Buffer;
  /** The response's headers in (the processor's timeline). */
  onHeaders?: () => void;
  /**
   * The body's last byte arrived (its writes, the fdatasync and the close follow): the processor gives its
   * download slot back here, so that the next transfer starts while this file becomes durable.
   */
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
    let response: HttpResponse;
    try {
      response = await httpGet(target, { idleTimeoutMs: options.idleTimeoutMs, ...(options.signal ? { signal: options.signal } : {}), ...(options.ca ? { ca: options.ca } : {}) });
    } catch (error) {
      throw new DownloadError(errorText(error), true);
    }
    options.onHeaders?.();
    const { status } = response;
    const location = response.headers.get('location');
    if (status >= 300 && status < 400 && location !== undefined) {
      response.discard();
      if (redirects >= (options.maxRedirects ?? 3)) throw new DownloadError(`too many redirects (last to ${location})`, false, status);
      current = new URL(location, target).toString();
      continue;
    }
    if (status !== 200) {
      response.discard();
      throw new DownloadError(`HTTP ${status} from ${target.host}`, status >= 500 || status === 429 || status === 408, status);
    }
    const contentLength = response.headers.get('content-length');
    const declared = contentLength === undefined ? undefined : Number(contentLength);
    if (declared !== undefined && options.maxBytes !== undefined && declared > options.maxBytes) {
      response.discard();
      throw new FileTooLargeError(options.maxBytes);
    }
    return { ...(await writeBody(response, options, status)), headerContentType: response.headers.get('content-type') };
  }
}

/** The body into a new temporary file, hashed on the way; nothing is left behind when it fails. */
async function writeBody(response: HttpResponse, options: DownloadOptions, status: number): Promise<WrittenFile & { temporaryPath: string }> {
  let file: Awaited<ReturnType<typeof createTemporaryFile>>;
  try {
    file = await createTemporaryFile(options.dir);
  } catch (error) {
    response.discard();
    throw error;
  }
  const { handle, temporaryPath, parentsSynced } = file;
  const writer = new HashingPieceWriter(handle, options.maxBytes);
  try {
    try {
      await response.readBody((piece, release) => writer.write(piece, release));
      options.onLastByte?.();
    } catch (error) {
      if (error instanceof FileTooLargeError) throw error;
      throw new DownloadError(`the body broke off: ${errorText(error)}`, true, status);
    }
    await writer.flushed();
    // Data and size on disk before anyone is told the file exists (the rename and its folder's fsync follow).
    await handle.datasync();
    await handle.close();
    await parentsSynced;
  } catch (error) {
    // Buffers still queued are given back as their writes end; the file goes once none is in flight.
    await writer.flushed().catch(() => undefined);
    await handle.close().catch(() => undefined);
    await discardFile(temporaryPath);
    await parentsSynced.catch(() => undefined);
    throw error;
  }
  return { temporaryPath, size: writer.size, sha256: writer.sha256(), head: writer.head() };
}

function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
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
