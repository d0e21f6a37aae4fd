-- The task's life enforced and announced by the database (src/db/tasks/life.ts is the table).

-- 1. A status change the life table does not allow is refused, whoever attempts it (SQLSTATE SB001,
--    IllegalTransitionError in TypeScript). test/db/tasks/life.test.ts checks this list against the table.
CREATE FUNCTION ai_tasks_guard_transition() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF (OLD.status, NEW.status) NOT IN (
       ('PENDING', 'ACTIVE'), ('PENDING', 'CANCELLED'),
       ('ACTIVE', 'PENDING'), ('ACTIVE', 'SUCCESS'), ('ACTIVE', 'FAILED'), ('ACTIVE', 'CANCELLED'),
       ('FAILED', 'PENDING'), ('CANCELLED', 'PENDING')) THEN
    RAISE EXCEPTION 'illegal task transition from % to % (task %)', OLD.status, NEW.status, OLD.id
      USING ERRCODE = 'SB001';
  END IF;
  RETURN NEW;
END $$;
CREATE TRIGGER ai_tasks_guard_transition BEFORE UPDATE OF status ON ai_tasks
  FOR EACH ROW WHEN (OLD.status IS DISTINCT FROM NEW.status) EXECUTE FUNCTION ai_tasks_guard_transition();

-- 2. One mechanism for wake-ups: this function sends every notification the processors listen to,
--    from the row change itself (sent at commit). It replaces the triggers of 001 and 002 and the
--    pg_notify calls that statements used to make when they gave a slot back.
--    It also credits the outcome of a task to the processor that held its claim, whatever path
--    finished it (the API's webhook handler included), for /api/stats.
CREATE FUNCTION ai_tasks_on_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF NEW.status = 'PENDING' AND (TG_OP = 'INSERT' OR OLD.status IS DISTINCT FROM 'PENDING') THEN
    PERFORM pg_notify('ai_tasks_pending', NEW.id::text);
  END IF;
  IF TG_OP = 'UPDATE' THEN
    IF NEW.cancel_requested_at IS NOT NULL AND OLD.cancel_requested_at IS NULL AND NEW.status = 'ACTIVE' THEN
      PERFORM pg_notify('ai_tasks_cancel', NEW.id::text);
    END IF;
    IF OLD.slot_account IS NOT NULL AND NEW.slot_account IS NULL THEN
      PERFORM pg_notify('runninghub_slot_freed', NEW.id::text);
    END IF;
    IF OLD.status = 'ACTIVE' AND NEW.status IN ('SUCCESS', 'FAILED') AND OLD.claimed_by IS NOT NULL THEN
      UPDATE processor_heartbeats
         SET succeeded = succeeded + (NEW.status = 'SUCCESS')::int, failed = failed + (NEW.status = 'FAILED')::int
       WHERE processor_id = OLD.claimed_by;
    END IF;
  END IF;
  RETURN NULL;
END $$;

DROP TRIGGER ai_tasks_notify_pending_insert ON ai_tasks;
DROP TRIGGER ai_tasks_notify_pending_update ON ai_tasks;
DROP TRIGGER ai_tasks_notify_cancel ON ai_tasks;
DROP FUNCTION ai_tasks_notify_pending();
DROP FUNCTION ai_tasks_notify_cancel();

CREATE TRIGGER ai_tasks_on_insert AFTER INSERT ON ai_tasks
  FOR EACH ROW WHEN (NEW.status = 'PENDING') EXECUTE FUNCTION ai_tasks_on_change();
CREATE TRIGGER ai_tasks_on_update AFTER UPDATE ON ai_tasks
  FOR EACH ROW WHEN (
    (NEW.status = 'PENDING' AND OLD.status IS DISTINCT FROM 'PENDING')
    OR (NEW.cancel_requested_at IS NOT NULL AND OLD.cancel_requested_at IS NULL AND NEW.status = 'ACTIVE')
    OR (OLD.slot_account IS NOT NULL AND NEW.slot_account IS NULL)
    OR (OLD.status = 'ACTIVE' AND NEW.status IN ('SUCCESS', 'FAILED')))
  EXECUTE FUNCTION ai_tasks_on_change();

-- 3. The processors' heartbeat rows: succeeded and failed are now counted by ai_tasks_on_change (the
--    processor no longer writes them); the orphaned RunningHub tasks a processor left behind, and the
--    cancels of them that failed (each may still hold a RunningHub slot the database counts as free).
ALTER TABLE processor_heartbeats ADD COLUMN orphaned bigint NOT NULL DEFAULT 0;
ALTER TABLE processor_heartbeats ADD COLUMN orphan_cancel_failures bigint NOT NULL DEFAULT 0;
