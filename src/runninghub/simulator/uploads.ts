// RunningHub's upload endpoints as the simulator answers them (reference §5.3): v1
// `POST /task/openapi/upload` (multipart: apiKey, file, fileType) and v2
// `POST /openapi/v2/media/upload/binary` (Bearer, file). Files are remembered per API key, so that with
// `requireUploadedImages` a create whose `image` field names a file this key never uploaded gets 803.
import { createHash } from 'node:crypto';
import type { SimulatorEngine } from './engine.js';
import { envelope, type HttpReply } from './http.js';

/** RunningHub's documented limit per file (809 APIKEY_FILE_SIZE_EXCEEDED beyond it). */
export const RUNNINGHUB_UPLOAD_MAX_BYTES = 30 * 1024 * 1024;

interface MultipartBody {
  fields: Map<string, string>;
  files: Map<string, { filename: string; data: Buffer }>;
}

/** A small multipart/form-data reader (whole body in memory: uploads are at most 30 MB here). */
export function parseMultipart(body: Buffer, contentType: string | undefined): MultipartBody | null {
  const boundary = /boundary=(?:"([^"]+)"|([^;]+))/i.exec(contentType ?? '');
  const marker = boundary?.[1] ?? boundary?.[2];
  if (!marker) return null;
  const delimiter = Buffer.from(`--${marker}`);
  const result: MultipartBody = { fields: new Map(), files: new Map() };
  let at = body.indexOf(delimiter);
  if (at < 0) return null;
  for (;;) {
    const start = at + delimiter.length;
    if (body.subarray(start, start + 2).toString() === '--') return result;
    const next = body.indexOf(delimiter, start);
    if (next < 0) return null;
    const part = body.subarray(start + 2, next - 2); // after CRLF, before the CRLF that precedes the delimiter
    const split = part.indexOf('\r\n\r\n');
    if (split < 0) return null;
    const headers = part.subarray(0, split).toString('utf8');
    const data = part.subarray(split + 4);
    const name = /name="([^"]*)"/i.exec(headers)?.[1];
    const filename = /filename="([^"]*)"/i.exec(headers)?.[1];
    if (name !== undefined) {
      if (filename !== undefined) result.files.set(name, { filename, data: Buffer.from(data) });
      else result.fields.set(name, data.toString('utf8'));
    }
    at = next;
  }
}

export class SimulatorUploads {
  private readonly byKey = new Map<string, Set<string>>();
  uploadsAccepted = 0;

  reset(): void {
    this.byKey.clear();
    this.uploadsAccepted = 0;
  }

  has(apiKey: string, fileName: string): boolean {
    return this.byKey.get(apiKey)?.has(fileName) === true;
  }

  /** The first `image` field of a create that names a file this key has not uploaded, or undefined. */
  unknownImage(apiKey: string, nodeInfoList: readonly { fieldName: string; fieldValue: unknown }[]): string | undefined {
    const entry = nodeInfoList.find((n) => n.fieldName === 'image' && !(typeof n.fieldValue === 'string' && this.has(apiKey, n.fieldValue)));
    return entry === undefined ? undefined : String(entry.fieldValue);
  }

  /** v1 or v2 upload, the key already taken from the body field (v1) or the Bearer header (v2). */
  handle(engine: SimulatorEngine, generation: 'v1' | 'v2', body: Buffer, contentType: string | undefined, bearer: string | undefined, publicUrl: string): HttpReply {
    const form = parseMultipart(body, contentType);
    const apiKey = (generation === 'v1' ? form?.fields.get('apiKey') : undefined) ?? bearer;
    if (!apiKey) return envelope(200, { code: 301, msg: 'PARAMS_INVALID', data: null });
    const keyError = engine.checkKey(apiKey);
    if (keyError) return envelope(200, { ...keyError, data: null });
    const file = form?.files.get('file');
    if (!file || file.data.length === 0) return envelope(200, { code: 301, msg: 'PARAMS_INVALID', data: null });
    if (file.data.length > RUNNINGHUB_UPLOAD_MAX_BYTES) return envelope(200, { code: 809, msg: 'APIKEY_FILE_SIZE_EXCEEDED', data: null });
    const extension = /\.([a-z0-9]{1,5})$/i.exec(file.filename)?.[1]?.toLowerCase() ?? 'png';
    const hex = createHash('sha256').update(file.data).update(apiKey).digest('hex');
    const fileName = `${generation === 'v1' ? 'api' : 'openapi'}/${hex}.${extension}`;
    let names = this.byKey.get(apiKey);
    if (!names) this.byKey.set(apiKey, (names = new Set()));
    names.add(fileName);
    this.uploadsAccepted++;
    if (generation === 'v1') return envelope(200, { code: 0, msg: 'success', data: { fileName, fileType: form?.fields.get('fileType') ?? 'input' } });
    return envelope(200, {
      code: 0,
      msg: 'success',
      data: { type: 'image', download_url: `${publicUrl}/uploads/${fileName}`, fileName, size: String(file.data.length) },
    });
  }
}
