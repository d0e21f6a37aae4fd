// Reference images on their way to RunningHub: just before a create, every nodeInfoList fieldValue
// `upload:<id>` (src/api/uploads.ts) becomes the file name RunningHub gave the image. The same content
// is uploaded once per account and reused while runninghub_uploads says it is valid.
import { readFile } from 'node:fs/promises';
import { findRunningHubUpload, getUploads, recordRunningHubUpload, type NodeInfo, type Upload } from '../db/index.js';
import { uploadFilePath } from '../store/index.js';
import type { ProcessorContext } from './state.js';

const UPLOAD_REFERENCE = /^upload:([0-9a-f-]{36})$/i;

/** A reference that cannot be resolved (upload gone, file missing): the task is invalid, not retried. */
export class UnresolvableUploadError extends Error {
  override name = 'UnresolvableUploadError';
}

/**
 * The list as RunningHub must see it. RunningHub errors of the upload propagate (a create failure).
 * `beforeUpload` runs before each wait for an upload to RunningHub (each up to a RunningHub timeout): the
 * caller keeps its claim there, and may end the work by throwing.
 */
export async function resolveUploads(ctx: ProcessorContext, nodeInfoList: NodeInfo[], beforeUpload: () => Promise<void>): Promise<NodeInfo[]> {
  const wanted = new Map<number, string>();
  for (const [i, entry] of nodeInfoList.entries()) {
    const match = UPLOAD_REFERENCE.exec(entry.fieldValue);
    if (match) wanted.set(i, match[1]!.toLowerCase());
  }
  if (wanted.size === 0) return nodeInfoList;
  const { state, settings, deps } = ctx;
  const uploads = await getUploads(state.pool, [...wanted.values()]);
  const resolved = [...nodeInfoList];
  for (const [i, id] of wanted) {
    const upload = uploads.get(id);
    if (!upload) throw new UnresolvableUploadError(`nodeInfoList[${i}] names upload ${id}, which does not exist`);
    let fileName = await findRunningHubUpload(state.pool, deps.account, upload.sha256, settings.runninghubUploadReuseMarginMs);
    if (fileName === null) {
      // Joined or started with no wait in between: another task's upload of the same content ending meanwhile
      // would otherwise leave this one to upload it again.
      let inFlight = state.uploadsInFlight.get(upload.sha256);
      if (!inFlight) {
        inFlight = uploadOnce(ctx, i, upload).finally(() => state.uploadsInFlight.delete(upload.sha256));
        // Its failure is each waiter's to handle; if beforeUpload ends this task's wait, nobody else may wait.
        inFlight.catch(() => undefined);
        state.uploadsInFlight.set(upload.sha256, inFlight);
      }
      await beforeUpload();
      fileName = await inFlight;
    }
    resolved[i] = { ...nodeInfoList[i]!, fieldValue: fileName };
  }
  return resolved;
}

/** Read the stored image and upload it; remembered in runninghub_uploads for reuse. */
async function uploadOnce(ctx: ProcessorContext, i: number, upload: Upload): Promise<string> {
  const { state, settings, deps } = ctx;
  const bytes = await readFile(uploadFilePath(settings.uploadDir, upload.sha256)).catch(() => {
    throw new UnresolvableUploadError(`nodeInfoList[${i}]: the file of upload ${upload.id} is missing from the upload store`);
  });
  const subtype = upload.contentType.split('/')[1] ?? 'png';
  const extension = subtype === 'jpeg' ? 'jpg' : subtype;
  const { fileName } = await deps.uploadFile({ bytes, fileName: `${upload.sha256}.${extension}`, contentType: upload.contentType });
  await recordRunningHubUpload(state.pool, { account: deps.account, sha256: upload.sha256, fileName, validMs: settings.runninghubUploadValidMs });
  state.counters.imagesUploaded++;
  ctx.log.info({ event: 'upload.sent', uploadId: upload.id, fileName, bytes: bytes.length }, 'reference image uploaded to RunningHub');
  return fileName;
}
