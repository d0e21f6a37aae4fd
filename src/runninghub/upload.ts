// Uploading a reference image to RunningHub (reference §5.3), apart from the task client (client.ts)
// so that the v1/v2 switch (RUNNINGHUB_API) can pick either function: v1 `POST /task/openapi/upload`
// (multipart: apiKey, file, fileType) and v2 `POST /openapi/v2/media/upload/binary` (Bearer, file).
// Both answer the file name to put into a LoadImage node's nodeInfoList entry.
import { z } from 'zod';
import type { Logger } from '../shared/logger.js';
import { isMissingPath, type RunningHubApi } from './client-v2.js';
import { RunningHubError } from './errors.js';
import { parseRunningHubJson } from './json.js';
import { envelopeSchema } from './schemas.js';

export interface UploadTarget {
  baseUrl: string;
  apiKey: string;
  /** Connect to last byte of the reply. */
  timeoutMs: number;
  signal?: AbortSignal | undefined;
}

export interface UploadFile {
  bytes: Uint8Array;
  /** Sent as the multipart filename; RunningHub keeps its extension. */
  fileName: string;
  contentType: string;
}

export interface UploadedFile {
  /** What a LoadImage `image` field takes, e.g. "api/9d77….png" (v1) or "openapi/….png" (v2). */
  fileName: string;
  /** v2 only: a URL RunningHub's standard models take instead of the name. */
  downloadUrl: string | null;
}

const v1DataSchema = z.object({ fileName: z.string().min(1), fileType: z.string().nullish() });
const v2DataSchema = z.object({ fileName: z.string().min(1), download_url: z.string().nullish(), type: z.string().nullish() });

/** The bytes as a Blob part (a copy: a Blob takes only views of a plain ArrayBuffer, not of a shared one). */
function fileBlob(file: UploadFile): Blob {
  return new Blob([Uint8Array.from(file.bytes)], { type: file.contentType });
}

/** v1: multipart with the key as the form field `apiKey`. */
export async function uploadFileV1(target: UploadTarget, file: UploadFile): Promise<UploadedFile> {
  const form = new FormData();
  form.set('apiKey', target.apiKey);
  form.set('fileType', 'input');
  form.set('file', fileBlob(file), file.fileName);
  const data = await post('upload', target, '/task/openapi/upload', form, {}, v1DataSchema);
  return { fileName: data.fileName, downloadUrl: null };
}

/** v2: multipart with the key as `Authorization: Bearer`. */
export async function uploadFileV2(target: UploadTarget, file: UploadFile): Promise<UploadedFile> {
  const form = new FormData();
  form.set('file', fileBlob(file), file.fileName);
  const data = await post('upload-v2', target, '/openapi/v2/media/upload/binary', form, { authorization: `Bearer ${target.apiKey}` }, v2DataSchema);
  return { fileName: data.fileName, downloadUrl: data.download_url ?? null };
}

async function post<T>(operation: string, target: UploadTarget, path: string, form: FormData, headers: Record<string, string>, dataSchema: z.ZodType<T>): Promise<T> {
  const scrub = (text: string) => text.split(target.apiKey).join('[redacted]');
  const fail = (code: string, message: string, httpStatus?: number) => new RunningHubError({ operation, code, remoteMessage: scrub(message), ...(httpStatus ? { httpStatus } : {}) });
  const timeout = AbortSignal.timeout(target.timeoutMs);
  let status: number;
  let text: string;
  try {
    const response = await fetch(`${target.baseUrl.replace(/\/+$/, '')}${path}`, {
      method: 'POST',
      headers: { accept: 'application/json', ...headers },
      body: form,
      signal: target.signal ? AbortSignal.any([timeout, target.signal]) : timeout,
    });
    status = response.status;
    text = await response.text();
  } catch (error) {
    if (timeout.aborted) throw fail('TIMEOUT', `no complete reply within ${target.timeoutMs} ms`);
    const cause = error instanceof Error && error.cause instanceof Error ? error.cause : error;
    throw fail('NETWORK', cause instanceof Error ? `${(cause as NodeJS.ErrnoException).code ?? cause.name}: ${cause.message}` : String(cause));
  }
  let envelope: z.output<typeof envelopeSchema> | undefined;
  try {
    const parsed = envelopeSchema.safeParse(parseRunningHubJson(text, () => undefined));
    if (parsed.success) envelope = parsed.data;
  } catch {
    envelope = undefined;
  }
  if (envelope && envelope.code !== '0') throw fail(envelope.code, envelope.msg, status);
  if (status < 200 || status > 299) throw fail(`HTTP_${status}`, `HTTP ${status}: ${JSON.stringify(text.slice(0, 200))}`, status);
  if (!envelope) throw fail('MALFORMED_REPLY', `not a RunningHub envelope: ${JSON.stringify(text.slice(0, 200))}`, status);
  const data = dataSchema.safeParse(envelope.data);
  if (!data.success) throw fail('MALFORMED_REPLY', `unexpected upload data: ${z.prettifyError(data.error)}`, status);
  return data.data;
}

/**
 * The upload of the configured generation (RUNNINGHUB_API): v1's form, v2's, or for `auto` v2's until
 * RunningHub answers that it does not serve that path (the same rule as the task client's), then v1's.
 */
export function createUploader(
  target: UploadTarget & { api: RunningHubApi },
  logger?: Logger,
): (file: UploadFile) => Promise<UploadedFile> {
  if (target.api === 'v1') return (file) => uploadFileV1(target, file);
  if (target.api === 'v2') return (file) => uploadFileV2(target, file);
  let onV1 = false;
  return async (file) => {
    if (onV1) return uploadFileV1(target, file);
    try {
      return await uploadFileV2(target, file);
    } catch (error) {
      if (!isMissingPath(error)) throw error;
      onV1 = true;
      logger?.warn({ event: 'runninghub.v2_missing', operation: 'upload', code: (error as RunningHubError).code }, 'RunningHub v2 does not serve this operation; using v1 for it');
      return uploadFileV1(target, file);
    }
  };
}
