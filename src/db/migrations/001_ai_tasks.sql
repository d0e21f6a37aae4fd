-- One row per image-generation request. Column names kept from the original system
-- (id, status, entity_name, created_at) so operators' queries keep working.
CREATE TABLE ai_tasks (
  id                  uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  entity_type         text NOT NULL CHECK (length(entity_type) BETWEEN 1 AND 100),
  entity_id           text NOT NULL CHECK (length(entity_id) BETWEEN 1 AND 200),
  entity_name         text NOT NULL CHECK (length(entity_name) BETWEEN 1 AND 500),
  -- RunningHub request: exactly one of a workflow or an AI app, plus its node overrides.
  workflow_id         text,
  webapp_id           text,
  node_info_list      jsonb NOT NULL DEFAULT '[]'::jsonb CHECK (jsonb_typeof(node_info_list) = 'array'),
  status              text NOT NULL DEFAULT 'PENDING'
                      CHECK (status IN ('PENDING', 'ACTIVE', 'SUCCESS', 'FAILED', 'CANCELLED')),
  priority            integer NOT NULL DEFAULT 0,
  attempts            integer NOT NULL DEFAULT 0 CHECK (attempts >= 0),
  max_attempts        integer NOT NULL DEFAULT 3 CHECK (max_attempts BETWEEN 1 AND 100),
  -- Earliest time a processor may (re)submit the task: retry backoff.
  run_after           timestamptz NOT NULL DEFAULT now(),
  -- RunningHub's task id is a 19-digit number: stored as text, never as a JS number.
  runninghub_task_id  text CHECK (runninghub_task_id ~ '^[0-9]{1,30}$'),
  outputs             jsonb CHECK (outputs IS NULL OR jsonb_typeof(outputs) = 'array'),
  error_code          text,
  error_message       text,
  idempotency_key     text UNIQUE CHECK (length(idempotency_key) BETWEEN 1 AND 255),
  -- Hash of the create body, to tell an idempotent replay from a conflicting one.
  request_fingerprint text,
  -- Which processor holds the task, and until when its lease runs.
  claimed_by          text,
  claim_expires_at    timestamptz,
  cancel_requested_at timestamptz,
  created_at          timestamptz NOT NULL DEFAULT now(),
  updated_at          timestamptz NOT NULL DEFAULT now(),
  submitted_at        timestamptz,
  finished_at         timestamptz,
  CONSTRAINT ai_tasks_one_target CHECK ((workflow_id IS NULL) <> (webapp_id IS NULL)),
  CONSTRAINT ai_tasks_finished_has_time CHECK (
    (status IN ('SUCCESS', 'FAILED', 'CANCELLED')) = (finished_at IS NOT NULL))
);

-- The processor's queries touch only live rows; partial indexes stay small with millions finished.
CREATE INDEX ai_tasks_pending_idx ON ai_tasks (priority DESC, created_at, id) WHERE status = 'PENDING';
CREATE INDEX ai_tasks_active_idx ON ai_tasks (submitted_at, id) WHERE status = 'ACTIVE';
CREATE UNIQUE INDEX ai_tasks_runninghub_task_id_idx ON ai_tasks (runninghub_task_id)
  WHERE runninghub_task_id IS NOT NULL;
-- Listing newest first (keyset pagination) and by entity.
CREATE INDEX ai_tasks_created_idx ON ai_tasks (created_at DESC, id DESC);
CREATE INDEX ai_tasks_entity_idx ON ai_tasks (entity_type, entity_id, created_at DESC, id DESC);
CREATE INDEX ai_tasks_status_created_idx ON ai_tasks (status, created_at DESC, id DESC);
-- Throughput statistics (finished in the last minutes).
CREATE INDEX ai_tasks_finished_idx ON ai_tasks (finished_at) WHERE finished_at IS NOT NULL;

CREATE FUNCTION ai_tasks_touch_updated_at() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  NEW.updated_at := now();
  RETURN NEW;
END $$;
CREATE TRIGGER ai_tasks_touch_updated_at BEFORE UPDATE ON ai_tasks
  FOR EACH ROW EXECUTE FUNCTION ai_tasks_touch_updated_at();

-- A task that becomes PENDING (created, retried, or put back after a 421) wakes processors at once.
CREATE FUNCTION ai_tasks_notify_pending() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_notify('ai_tasks_pending', NEW.id::text);
  RETURN NULL;
END $$;
CREATE TRIGGER ai_tasks_notify_pending_insert AFTER INSERT ON ai_tasks
  FOR EACH ROW WHEN (NEW.status = 'PENDING') EXECUTE FUNCTION ai_tasks_notify_pending();
CREATE TRIGGER ai_tasks_notify_pending_update AFTER UPDATE OF status ON ai_tasks
  FOR EACH ROW WHEN (NEW.status = 'PENDING' AND OLD.status IS DISTINCT FROM 'PENDING')
  EXECUTE FUNCTION ai_tasks_notify_pending();
