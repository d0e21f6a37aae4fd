// Reference images: storing one (POST /api/uploads, or an https URL a task names) and the references a
// task's (or a storyboard shot's) nodeInfoList may hold. A fieldValue `upload:<id>` names an upload;
// `upload:https://…` is fetched by the api when the task is created (same checks), stored as an upload,
// and becomes `upload:<id>`.
// The processor uploads the file to RunningHub just before the create (src/processor/uploads.ts).
import type { Readable } from 'node:stream';
import { getUploads, insertUpload, type NodeInfo, type Pool, type Upload } from '../db/index.js';
import {
  commitFile,
  discardFile,
  DownloadError,
  downloadToTemporary,
  FileTooLargeError,
  HostNotAllowedError,
  sniffImageType,
  uploadFilePath,
  writeToTemporary,
  type AllowedHosts,
  type WrittenFile,
} from '../store/index.js';
import { ApiError } from './errors.js';

export const UPLOAD_REFERENCE_PREFIX = 'upload:';

/** How long fetching an `upload:https://…` reference may stay silent (twice that in all). */
export const UPLOAD_FETCH_TIMEOUT_MS = 15_000;

export interface UploadStore {
  uploadDir: string;
  uploadMaxBytes: number;
  /** UPLOAD_URL_ALLOWED_HOSTS: the hosts an `upload:https://…` may name (and redirect to); empty: none. */
  urlAllowedHosts: AllowedHosts;
}

const tooLarge = (max: number, path?: string) =>
  new ApiError(413, 'UPLOAD_TOO_LARGE', `the image is larger than the limit of ${max} bytes (UPLOAD_MAX_BYTES)`, { maxBytes: max, ...(path ? { path } : {}) });

/** A written temporary file becomes an upload: checked by content, renamed to its SHA-256, recorded. */
async function keepUpload(
  pool: Pool,
  store: UploadStore,
  file: WrittenFile & { temporaryPath: string },
  names: { originalName?: string | null; sourceUrl?: string | null; path?: string },
): Promise<Upload> {
  const contentType = sniffImageType(file.head);
  if (contentType === null || file.size === 0) {
    await discardFile(file.temporaryPath);
    throw new ApiError(415, 'UNSUPPORTED_IMAGE_TYPE', 'the file is not a PNG, JPEG or WebP image (checked by its content, not its name or header)', names.path ? { path: names.path } : null);
  }
  try {
    await commitFile(file.temporaryPath, uploadFilePath(store.uploadDir, file.sha256));
  } catch (error) {
    await discardFile(file.temporaryPath);
    throw error;
  }
  return insertUpload(pool, { sha256: file.sha256, size: file.size, contentType, originalName: names.originalName ?? null, sourceUrl: names.sourceUrl ?? null });
}

/**
 * Store a multipart file stream; `truncated` tells whether the multipart limit cut it. `beforeKeep` runs
 * once the file is written and before it is kept (the rest of the body read, say); if it throws, the
 * file is discarded and nothing is recorded.
 */
export async function storeUploadedStream(
  pool: Pool,
  store: UploadStore,
  stream: Readable & { truncated?: boolean },
  originalName: string,
  beforeKeep: () => Promise<void> = async () => undefined,
): Promise<Upload> {
  let file: WrittenFile & { temporaryPath: string };
  try {
    file = await writeToTemporary(stream, store.uploadDir, { maxBytes: store.uploadMaxBytes });
  } catch (error) {
    if (error instanceof FileTooLargeError || stream.truncated === true) throw tooLarge(store.uploadMaxBytes);
    throw error;
  }
  if (stream.truncated === true) {
    await discardFile(file.temporaryPath);
    throw tooLarge(store.uploadMaxBytes);
  }
  try {
    await beforeKeep();
  } catch (error) {
    await discardFile(file.temporaryPath);
    throw error;
  }
  return keepUpload(pool, store, file, { originalName });
}

/** Where a nodeInfoList sits in the request body: `nodeInfoList` for a task, `shots[2].nodeInfoList` for a shot. */
export interface NodeInfoListAt {
  /** For messages: `shots[2].nodeInfoList` (an entry is then `shots[2].nodeInfoList[1]`). */
  label: string;
  /** For `details.path`: `shots.2.nodeInfoList` (an entry is then `shots.2.nodeInfoList.1.fieldValue`). */
  path: string;
}

const TASK_NODE_INFO_LIST: NodeInfoListAt = { label: 'nodeInfoList', path: 'nodeInfoList' };

/**
 * Check a new task's references: every `upload:<id>` must exist (422 naming the entry), every
 * `upload:https://…` is fetched and stored, its fieldValue rewritten to `upload:<id>`. The same URL with
 * the same content gives the same upload id, so an Idempotency-Key replay sees the same body.
 */
export async function resolveUploadReferences(pool: Pool, store: UploadStore, nodeInfoList: NodeInfo[], fetchTimeoutMs: number): Promise<NodeInfo[]> {
  const [resolved] = await resolveUploadReferencesOfLists(pool, store, [{ nodeInfoList, at: TASK_NODE_INFO_LIST }], fetchTimeoutMs);
  return resolved!;
}

/**
 * The same for several nodeInfoLists of one request (a storyboard's shots), all checked before the
 * caller stores anything: the ids in one query, first (an unknown id fails the request before any URL
 * is fetched), then each distinct URL fetched once however many entries name it.
 */
export async function resolveUploadReferencesOfLists(
  pool: Pool,
  store: UploadStore,
  lists: { nodeInfoList: NodeInfo[]; at: NodeInfoListAt }[],
  fetchTimeoutMs: number,
): Promise<NodeInfo[][]> {
  const named: { list: number; entry: number; id: string }[] = [];
  const fetched: { list: number; entry: number; url: string }[] = [];
  for (const [l, { nodeInfoList }] of lists.entries()) {
    for (const [i, entry] of nodeInfoList.entries()) {
      if (!entry.fieldValue.startsWith(UPLOAD_REFERENCE_PREFIX)) continue;
      const target = entry.fieldValue.slice(UPLOAD_REFERENCE_PREFIX.length);
      if (/^[a-z][a-z0-9+.-]*:\/\//i.test(target)) fetched.push({ list: l, entry: i, url: target });
      else named.push({ list: l, entry: i, id: target });
    }
  }
  if (named.length > 0) {
    const known = await getUploads(pool, [...new Set(named.map((n) => n.id))]);
    const missing = named.find((n) => !known.has(n.id));
    if (missing) {
      const { at, nodeInfoList } = lists[missing.list]!;
      const entry = nodeInfoList[missing.entry]!;
      throw new ApiError(
        422,
        'UNKNOWN_UPLOAD',
        `${at.label}[${missing.entry}] (node ${entry.nodeId}, field ${entry.fieldName}) names upload ${JSON.stringify(missing.id)}, which does not exist`,
        { path: `${at.path}.${missing.entry}.fieldValue`, uploadId: missing.id },
      );
    }
  }
  // Every URL's host against the allow-list before any is fetched: a request naming one host it may
  // not reach fetches nothing. (Redirects are checked again, hop by hop, while fetching.)
  for (const { list, entry, url } of fetched) {
    const host = httpsHostOf(url);
    if (host === undefined || store.urlAllowedHosts.allows(host)) continue;
    const { at, nodeInfoList } = lists[list]!;
    const named = nodeInfoList[entry]!;
    throw new ApiError(
      422,
      'UPLOAD_URL_NOT_ALLOWED',
      `${at.label}[${entry}] (node ${named.nodeId}, field ${named.fieldName}): the host ${JSON.stringify(host)} is not in UPLOAD_URL_ALLOWED_HOSTS` +
        (store.urlAllowedHosts.empty ? ' (empty: URLs are not fetched; send the image to POST /api/uploads and name its upload:<id>)' : ''),
      { path: `${at.path}.${entry}.fieldValue`, host },
    );
  }
  const resolved = lists.map(({ nodeInfoList }) => [...nodeInfoList]);
  // One fetch per distinct URL; a failure names the first entry that gave it.
  const uploadIdByUrl = new Map<string, string>();
  for (const { list, entry, url } of fetched) {
    let id = uploadIdByUrl.get(url);
    if (id === undefined) {
      const upload = await fetchUpload(pool, store, url, `${lists[list]!.at.path}.${entry}.fieldValue`, fetchTimeoutMs);
      id = upload.id;
      uploadIdByUrl.set(url, id);
    }
    resolved[list]![entry] = { ...lists[list]!.nodeInfoList[entry]!, fieldValue: `${UPLOAD_REFERENCE_PREFIX}${id}` };
  }
  return resolved;
}

async function fetchUpload(pool: Pool, store: UploadStore, url: string, path: string, timeoutMs: number): Promise<Upload> {
  let file;
  try {
    file = await downloadToTemporary(url, {
      dir: store.uploadDir,
      maxBytes: store.uploadMaxBytes,
      idleTimeoutMs: timeoutMs,
      allowHttp: false,
      allowedHosts: store.urlAllowedHosts,
      signal: AbortSignal.timeout(timeoutMs * 2),
    });
  } catch (error) {
    if (error instanceof FileTooLargeError) throw tooLarge(store.uploadMaxBytes, path);
    if (error instanceof HostNotAllowedError) {
      throw new ApiError(422, 'UPLOAD_URL_NOT_ALLOWED', `${path}: ${url}: ${error.message}`, { path, url, host: error.host });
    }
    const reason = error instanceof DownloadError || error instanceof Error ? error.message : String(error);
    throw new ApiError(422, 'UPLOAD_URL_FAILED', `${path}: could not fetch ${url}: ${reason}`, { path, url });
  }
  return keepUpload(pool, store, file, { sourceUrl: url, path });
}

/** The host of an https URL; undefined for anything else (the fetch then refuses it with its own message). */
function httpsHostOf(url: string): string | undefined {
  try {
    const parsed = new URL(url);
    return parsed.protocol === 'https:' ? parsed.hostname : undefined;
  } catch {
    return undefined;
  }
}
