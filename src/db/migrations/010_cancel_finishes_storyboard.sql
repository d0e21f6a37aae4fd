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
