// Uploaded reference images (the uploads table) and the files RunningHub holds for them per account
// (runninghub_uploads, reused while valid). Migration 004; the bytes are in the upload store (src/store).
import type { Queryable } from './pool.js';

export interface Upload {
  id: string;
  sha256: string;
  size: number;
  contentType: string;
  originalName: string | null;
  sourceUrl: string | null;
  createdAt: Date;
}

interface UploadRow {
  id: string;
  sha256: string;
  size: string;
  content_type: string;
  original_name: string | null;
  source_url: string | null;
  created_at: Date;
}

const toUpload = (r: UploadRow): Upload => ({
  id: r.id,
  sha256: r.sha256,
  size: Number(r.size),
  contentType: r.content_type,
  originalName: r.original_name,
  sourceUrl: r.source_url,
  createdAt: r.created_at,
});

/**
 * Record an upload. One fetched from a URL whose same content was fetched before gets that first
 * upload back (stable ids: an Idempotency-Key replay of a task naming the URL sees the same body).
 */
export async function insertUpload(
  db: Queryable,
  input: { sha256: string; size: number; contentType: string; originalName?: string | null; sourceUrl?: string | null },
): Promise<Upload> {
  const { rows } = await db.query<UploadRow>(
    `WITH earlier AS (
       SELECT id, sha256, size, content_type, original_name, source_url, created_at FROM uploads
        WHERE $5::text IS NOT NULL AND source_url = $5 AND sha256 = $1 ORDER BY created_at, id LIMIT 1),
     inserted AS (
       INSERT INTO uploads (sha256, size, content_type, original_name, source_url)
       SELECT $1, $2, $3, $4, $5 WHERE NOT EXISTS (SELECT 1 FROM earlier)
       RETURNING id, sha256, size, content_type, original_name, source_url, created_at)
     SELECT * FROM earlier UNION ALL SELECT * FROM inserted`,
    [input.sha256, input.size, input.contentType, input.originalName ?? null, input.sourceUrl ?? null],
  );
  return toUpload(rows[0]!);
}

/** The uploads with these ids (ids that are not UUIDs or not known are simply absent from the map). */
export async function getUploads(db: Queryable, ids: readonly string[]): Promise<Map<string, Upload>> {
  const uuids = ids.filter((id) => /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(id));
  if (uuids.length === 0) return new Map();
  const { rows } = await db.query<UploadRow>(
    `SELECT id, sha256, size, content_type, original_name, source_url, created_at FROM uploads WHERE id = ANY($1::uuid[])`,
    [uuids],
  );
  return new Map(rows.map((r) => [r.id, toUpload(r)]));
}

/** RunningHub's file name for this content on this account, if uploaded and still valid for `marginMs`. */
export async function findRunningHubUpload(db: Queryable, account: string, sha256: string, marginMs: number): Promise<string | null> {
  const { rows } = await db.query<{ file_name: string }>(
    `SELECT file_name FROM runninghub_uploads
      WHERE account = $1 AND sha256 = $2 AND expires_at > now() + make_interval(secs => $3::double precision / 1000)`,
    [account, sha256, marginMs],
  );
  return rows[0]?.file_name ?? null;
}

export async function recordRunningHubUpload(db: Queryable, input: { account: string; sha256: string; fileName: string; validMs: number }): Promise<void> {
  await db.query(
    `INSERT INTO runninghub_uploads (account, sha256, file_name, expires_at)
     VALUES ($1, $2, $3, now() + make_interval(secs => $4::double precision / 1000))
     ON CONFLICT (account, sha256) DO UPDATE SET file_name = EXCLUDED.file_name, uploaded_at = now(), expires_at = EXCLUDED.expires_at`,
    [input.account, input.sha256, input.fileName, input.validMs],
  );
}
