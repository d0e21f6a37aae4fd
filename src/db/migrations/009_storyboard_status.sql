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

-- A cancel that itself finishes a storyboard (its unfinished shots all PENDING, cancelled at once) changes
-- the shots first, in the order every statement takes (task rows, then the storyboard row through the
-- count trigger, so no deadlock), and sets cancelled_at in its next statement. The finish it causes
-- fires this trigger in between, when cancelled_at is still NULL: cancelStoryboard names the storyboard
-- it cancels in a transaction-local setting, and the callback's status reads the cancel from there.
CREATE OR REPLACE FUNCTION storyboards_record_callback() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  cancel_time timestamptz := coalesce(
    NEW.cancelled_at,
    CASE WHEN current_setting('storyboards.cancelling', true) = NEW.id::text THEN now() END);
BEGIN
  INSERT INTO task_callbacks (storyboard_id, url, payload)
  VALUES (NEW.id, NEW.callback_url, jsonb_build_object(
    'type', 'storyboard.finished', 'storyboardId', NEW.id, 'name', NEW.name,
    'entityType', NEW.entity_type, 'entityId', NEW.entity_id,
    'status', storyboard_status(NEW.pending, NEW.active, NEW.failed, NEW.cancelled, cancel_time),
    'total', NEW.pending + NEW.active + NEW.success + NEW.failed + NEW.cancelled,
    'success', NEW.success, 'failed', NEW.failed, 'cancelled', NEW.cancelled,
    'finishedAt', NEW.finished_at));
  PERFORM pg_notify('task_callbacks_due', NEW.id::text);
  RETURN NULL;
END $$;
