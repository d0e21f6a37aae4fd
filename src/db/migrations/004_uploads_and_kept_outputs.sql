-- Reference images in, generated images kept (issue 12). The task's life for the new phase is in
-- src/db/tasks/life.ts (keepingOutputs); the statements are in src/db/uploads.ts and src/db/tasks/outputs.ts.

-- 1. Images clients uploaded (POST /api/uploads, or an https URL in a task's nodeInfoList fetched by the
--    api). The bytes live in the upload store, named by their SHA-256, so the same image uploaded twice
--    is stored once; each upload still gets its own id.
CREATE TABLE uploads (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  sha256 text NOT NULL CHECK (sha256 ~ '^[0-9a-f]{64}$'),
  size bigint NOT NULL CHECK (size > 0),
  content_type text NOT NULL,
  -- What the client called it (multipart filename) or where we fetched it from; for people only.
  original_name text,
  source_url text,
  created_at timestamptz NOT NULL DEFAULT now()
);

-- 2. Files already uploaded to RunningHub, per account and content: reused until expires_at instead of
--    uploading the same reference image for every task.
CREATE TABLE runninghub_uploads (
  account text NOT NULL,
  sha256 text NOT NULL,
  file_name text NOT NULL,
  uploaded_at timestamptz NOT NULL DEFAULT now(),
  expires_at timestamptz NOT NULL,
  PRIMARY KEY (account, sha256)
);

-- 3. The keepingOutputs phase: RunningHub reported SUCCESS with these outputs; the task stays ACTIVE
--    (its RunningHub slot already given back) until a processor has downloaded every one of them into
--    the output store, then it becomes SUCCESS with `outputs` naming our copies.
ALTER TABLE ai_tasks ADD COLUMN runninghub_outputs jsonb;
CREATE INDEX ai_tasks_keeping ON ai_tasks (next_check_at) WHERE status = 'ACTIVE' AND runninghub_outputs IS NOT NULL;
