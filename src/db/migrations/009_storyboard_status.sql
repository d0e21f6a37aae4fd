-- A storyboard's status in SQL, written once: the list's status filter (src/db/storyboards/api.ts) and the
-- storyboard.finished callback (migration 007) both call it; statusOf in TypeScript is the same rule, and
-- test/db/storyboards/status.test.ts holds the two together.
-- 'cancelled' needs a shot that the cancel left CANCELLED: a storyboard whose cancel came too late (its
-- running shots all succeeded at RunningHub) or whose cancelled shots were all retried and succeeded is done.
CREATE FUNCTION storyboard_status(pending integer, active integer, failed integer, cancelled integer, cancelled_at timestamptz)
RETURNS text LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT CASE WHEN pending + active > 0 THEN 'running'
              WHEN cancelled_at IS NOT NULL AND cancelled > 0 THEN 'cancelled'
              WHEN failed + cancelled > 0 THEN 'done_with_failures'
              ELSE 'done' END
$$;

CREATE OR REPLACE FUNCTION storyboards_record_callback() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO task_callbacks (storyboard_id, url, payload)
  VALUES (NEW.id, NEW.callback_url, jsonb_build_object(
    'type', 'storyboard.finished', 'storyboardId', NEW.id, 'name', NEW.name,
    'entityType', NEW.entity_type, 'entityId', NEW.entity_id,
    'status', storyboard_status(NEW.pending, NEW.active, NEW.failed, NEW.cancelled, NEW.cancelled_at),
    'total', NEW.pending + NEW.active + NEW.success + NEW.failed + NEW.cancelled,
    'success', NEW.success, 'failed', NEW.failed, 'cancelled', NEW.cancelled,
    'finishedAt', NEW.finished_at));
  PERFORM pg_notify('task_callbacks_due', NEW.id::text);
  RETURN NULL;
END $$;
