-- Live progress, callbacks and retention (issue 13). The kinds of events and the RunningHub phases are
-- named once in src/db/tasks/life.ts (TASK_EVENT_KINDS, RUNNINGHUB_PHASES); the CHECKs below repeat them
-- and test/db/live/events.test.ts compares the two.

-- 1. RunningHub's own phase of a submitted task (QUEUED or RUNNING there), as the processor last saw it
--    when polling. Meaningless outside ACTIVE: cleared whenever the status changes.
ALTER TABLE ai_tasks ADD COLUMN runninghub_phase text CHECK (runninghub_phase IN ('QUEUED', 'RUNNING'));
ALTER TABLE ai_tasks ADD COLUMN runninghub_phase_at timestamptz;
-- Where the task's result is POSTed when it ends (task_callbacks below), or NULL.
ALTER TABLE ai_tasks ADD COLUMN callback_url text CHECK (callback_url ~ '^https?://' AND length(callback_url) <= 2000);

CREATE FUNCTION ai_tasks_clear_phase() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  NEW.runninghub_phase := NULL;
  NEW.runninghub_phase_at := NULL;
  RETURN NEW;
END $$;
CREATE TRIGGER ai_tasks_clear_phase BEFORE UPDATE OF status ON ai_tasks
  FOR EACH ROW WHEN (OLD.status IS DISTINCT FROM NEW.status) EXECUTE FUNCTION ai_tasks_clear_phase();

-- 2. Every change a client may follow, appended by trigger in the transaction of the change itself, and
--    announced at commit on the channel task_events with the event as payload (GET /api/events). A client
--    that reconnects reads what it missed from here (Last-Event-ID). Bounded by retention (section 4).
--    No foreign key: events outlive nothing but are deleted by age, never by the task's delete.
CREATE TABLE task_events (
  id                bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  task_id           uuid NOT NULL,
  storyboard_id     uuid,
  entity_type       text NOT NULL,
  entity_id         text NOT NULL,
  kind              text NOT NULL CHECK (kind IN ('created', 'claimed', 'submitted', 'queued', 'running', 'cancel_requested',
                                                  'succeeded', 'failed', 'retrying', 'cancelled', 'output_kept')),
  status            text NOT NULL,
  runninghub_phase  text,
  detail            jsonb NOT NULL DEFAULT '{}'::jsonb,
  at                timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX task_events_task_idx ON task_events (task_id, id);
CREATE INDEX task_events_storyboard_idx ON task_events (storyboard_id, id) WHERE storyboard_id IS NOT NULL;
CREATE INDEX task_events_entity_idx ON task_events (entity_type, entity_id, id);
CREATE INDEX task_events_at_idx ON task_events (at);

-- 3. Callbacks: an outbox. The row is written by the same trigger, in the transaction that ends the task,
--    so a crash between the change and the POST cannot lose it; processors deliver it (claiming it with a
--    lease: next_attempt_at moves past the POST's timeout), retry with backoff, and record the outcome.
CREATE TABLE task_callbacks (
  id               bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  -- A task's end (task_id set) or a storyboard's (task_id NULL). No foreign keys (TRUNCATE ai_tasks keeps
  -- working): retention deletes the deliveries of what it deletes.
  task_id          uuid,
  storyboard_id    uuid,
  -- The task event that caused it (its end); NULL for a storyboard's.
  event_id         bigint,
  url              text NOT NULL,
  payload          jsonb NOT NULL,
  state            text NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'delivered', 'failed')),
  attempts         integer NOT NULL DEFAULT 0,
  next_attempt_at  timestamptz NOT NULL DEFAULT now(),
  last_status      integer,
  last_error       text,
  created_at       timestamptz NOT NULL DEFAULT now(),
  delivered_at     timestamptz,
  CONSTRAINT task_callbacks_has_subject CHECK (task_id IS NOT NULL OR storyboard_id IS NOT NULL),
  CONSTRAINT task_callbacks_delivered_has_time CHECK ((state = 'delivered') = (delivered_at IS NOT NULL))
);
CREATE INDEX task_callbacks_due_idx ON task_callbacks (next_attempt_at) WHERE state = 'pending';
CREATE INDEX task_callbacks_task_idx ON task_callbacks (task_id, id) WHERE task_id IS NOT NULL;
CREATE INDEX task_callbacks_storyboard_idx ON task_callbacks (storyboard_id, id) WHERE task_id IS NULL;

CREATE FUNCTION ai_tasks_record_event() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  kinds text[] := '{}';
  kind text;
  event task_events;
  detail jsonb;
BEGIN
  IF TG_OP = 'INSERT' THEN
    kinds := ARRAY['created'];
  ELSE
    IF NEW.status IS DISTINCT FROM OLD.status THEN
      kinds := kinds || CASE NEW.status WHEN 'ACTIVE' THEN 'claimed' WHEN 'PENDING' THEN 'retrying'
                                        WHEN 'SUCCESS' THEN 'succeeded' WHEN 'FAILED' THEN 'failed' ELSE 'cancelled' END;
    END IF;
    IF NEW.status = 'ACTIVE' AND NEW.runninghub_task_id IS NOT NULL AND OLD.runninghub_task_id IS NULL THEN
      kinds := kinds || 'submitted'::text;
    END IF;
    IF NEW.status = 'ACTIVE' AND NEW.runninghub_phase IS NOT NULL AND NEW.runninghub_phase IS DISTINCT FROM OLD.runninghub_phase THEN
      kinds := kinds || lower(NEW.runninghub_phase);
    END IF;
    IF NEW.status = 'ACTIVE' AND NEW.cancel_requested_at IS NOT NULL AND OLD.cancel_requested_at IS NULL THEN
      kinds := kinds || 'cancel_requested'::text;
    END IF;
  END IF;
  -- Bounded: the whole event goes out as the NOTIFY payload (at most 8000 bytes); outputs are counted, not sent.
  detail := jsonb_strip_nulls(jsonb_build_object(
    'attempts', NEW.attempts,
    'runninghubTaskId', NEW.runninghub_task_id,
    'outputs', CASE WHEN NEW.outputs IS NOT NULL THEN jsonb_array_length(NEW.outputs) END,
    'error', CASE WHEN NEW.error_code IS NOT NULL AND NEW.status <> 'ACTIVE'
                  THEN jsonb_build_object('code', left(NEW.error_code, 100), 'message', left(NEW.error_message, 500)) END));
  FOREACH kind IN ARRAY kinds LOOP
    INSERT INTO task_events (task_id, storyboard_id, entity_type, entity_id, kind, status, runninghub_phase, detail)
    VALUES (NEW.id, NEW.storyboard_id, NEW.entity_type, NEW.entity_id, kind, NEW.status, NEW.runninghub_phase, detail)
    RETURNING * INTO event;
    PERFORM pg_notify('task_events', json_build_object(
      'id', event.id::text, 'taskId', event.task_id, 'storyboardId', event.storyboard_id,
      'entityType', event.entity_type, 'entityId', event.entity_id, 'kind', event.kind, 'status', event.status,
      'runninghubPhase', event.runninghub_phase, 'detail', event.detail, 'at', event.at)::text);
    IF kind IN ('succeeded', 'failed', 'cancelled') AND NEW.callback_url IS NOT NULL THEN
      INSERT INTO task_callbacks (task_id, storyboard_id, event_id, url, payload)
      VALUES (NEW.id, NEW.storyboard_id, event.id, NEW.callback_url, jsonb_build_object(
        'type', 'task.finished', 'eventId', event.id::text, 'taskId', NEW.id, 'storyboardId', NEW.storyboard_id,
        'status', NEW.status, 'entityType', NEW.entity_type, 'entityId', NEW.entity_id, 'entityName', NEW.entity_name,
        'runninghubTaskId', NEW.runninghub_task_id, 'attempts', NEW.attempts, 'outputs', NEW.outputs,
        'error', CASE WHEN NEW.error_code IS NOT NULL THEN jsonb_build_object('code', NEW.error_code, 'message', NEW.error_message) END,
        'finishedAt', NEW.finished_at));
      PERFORM pg_notify('task_callbacks_due', NEW.id::text);
    END IF;
  END LOOP;
  RETURN NULL;
END $$;

CREATE TRIGGER ai_tasks_record_event_insert AFTER INSERT ON ai_tasks
  FOR EACH ROW EXECUTE FUNCTION ai_tasks_record_event();
CREATE TRIGGER ai_tasks_record_event_update AFTER UPDATE ON ai_tasks
  FOR EACH ROW WHEN (
    OLD.status IS DISTINCT FROM NEW.status
    OR (OLD.runninghub_task_id IS NULL AND NEW.runninghub_task_id IS NOT NULL)
    OR OLD.runninghub_phase IS DISTINCT FROM NEW.runninghub_phase
    OR (OLD.cancel_requested_at IS NULL AND NEW.cancel_requested_at IS NOT NULL))
  EXECUTE FUNCTION ai_tasks_record_event();

-- A storyboard with a callback_url gets one delivery each time it finishes (migration 006 sets finished_at
-- when its last shot ends, in the statement that ends the shot): the outbox row is in that transaction too.
CREATE FUNCTION storyboards_record_callback() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO task_callbacks (storyboard_id, url, payload)
  VALUES (NEW.id, NEW.callback_url, jsonb_build_object(
    'type', 'storyboard.finished', 'storyboardId', NEW.id, 'name', NEW.name,
    'entityType', NEW.entity_type, 'entityId', NEW.entity_id,
    'status', CASE WHEN NEW.cancelled_at IS NOT NULL THEN 'cancelled'
                   WHEN NEW.failed + NEW.cancelled > 0 THEN 'done_with_failures' ELSE 'done' END,
    'total', NEW.pending + NEW.active + NEW.success + NEW.failed + NEW.cancelled,
    'success', NEW.success, 'failed', NEW.failed, 'cancelled', NEW.cancelled,
    'finishedAt', NEW.finished_at));
  PERFORM pg_notify('task_callbacks_due', NEW.id::text);
  RETURN NULL;
END $$;
CREATE TRIGGER storyboards_record_callback AFTER UPDATE OF finished_at ON storyboards
  FOR EACH ROW WHEN (OLD.finished_at IS NULL AND NEW.finished_at IS NOT NULL AND NEW.callback_url IS NOT NULL)
  EXECUTE FUNCTION storyboards_record_callback();

-- 4. Retention: finished storyboards (with their shots) and finished single tasks older than
--    RETENTION_MAX_AGE are deleted in small batches by the processors (the finished_at indexes find them),
--    or moved here with RETENTION_MODE=archive. The row is kept as jsonb
--    so that later migrations adding columns to ai_tasks never break the archive.
CREATE TABLE ai_tasks_archive (
  id           uuid PRIMARY KEY,
  finished_at  timestamptz NOT NULL,
  archived_at  timestamptz NOT NULL DEFAULT now(),
  task         jsonb NOT NULL
);
CREATE INDEX ai_tasks_archive_finished_idx ON ai_tasks_archive (finished_at);
CREATE TABLE storyboards_archive (
  id           uuid PRIMARY KEY,
  finished_at  timestamptz NOT NULL,
  archived_at  timestamptz NOT NULL DEFAULT now(),
  storyboard   jsonb NOT NULL
);
-- Finished storyboards, oldest first, for retention.
CREATE INDEX storyboards_finished_idx ON storyboards (finished_at) WHERE finished_at IS NOT NULL;
