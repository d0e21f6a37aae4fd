-- The task processor's tables and the columns it adds to ai_tasks.

-- One row per RunningHub account (API key). The concurrency limit is enforced on this row: every
-- claim locks it FOR UPDATE and increments `running` in the same transaction as the task's status
-- change, and every path that ends a task's hold on a slot decrements it in the same transaction.
-- A count over ai_tasks inside the claim statement was measured exceeding the cap (up to 22 for 3).
CREATE TABLE runninghub_accounts (
  -- sha256 of the API key (hex): identifies the account without storing the key.
  fingerprint  text PRIMARY KEY CHECK (fingerprint ~ '^[0-9a-f]{64}$'),
  max_running  integer NOT NULL CHECK (max_running BETWEEN 1 AND 1000),
  running      integer NOT NULL DEFAULT 0 CHECK (running >= 0),
  updated_at   timestamptz NOT NULL DEFAULT now()
);

-- Which account's slot a task holds. Set by the claim, cleared (and the account's `running`
-- decremented) by whatever ends the hold, so `running` always equals the number of tasks whose
-- slot_account is that account; clearing it twice is impossible, which makes releases idempotent.
ALTER TABLE ai_tasks ADD COLUMN slot_account text REFERENCES runninghub_accounts (fingerprint);
ALTER TABLE ai_tasks ADD CONSTRAINT ai_tasks_slot_only_when_active CHECK (slot_account IS NULL OR status = 'ACTIVE');
-- Identifies one claim of a task: a processor whose lease expired and was recovered can no longer
-- write the outcome of its (stale) submission over a newer claim.
ALTER TABLE ai_tasks ADD COLUMN claim_token uuid;
-- When a processor next asks RunningHub about a submitted task (the fallback when no webhook comes).
ALTER TABLE ai_tasks ADD COLUMN next_check_at timestamptz;
CREATE INDEX ai_tasks_slot_account_idx ON ai_tasks (slot_account) WHERE slot_account IS NOT NULL;
CREATE INDEX ai_tasks_claim_expiry_idx ON ai_tasks (claim_expires_at)
  WHERE status = 'ACTIVE' AND runninghub_task_id IS NULL;
CREATE INDEX ai_tasks_next_check_idx ON ai_tasks (next_check_at) WHERE status = 'ACTIVE';
CREATE INDEX ai_tasks_pending_due_idx ON ai_tasks (run_after) WHERE status = 'PENDING';

-- A cancel request on a running task wakes processors at once instead of at the next poll.
CREATE FUNCTION ai_tasks_notify_cancel() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_notify('ai_tasks_cancel', NEW.id::text);
  RETURN NULL;
END $$;
CREATE TRIGGER ai_tasks_notify_cancel AFTER UPDATE OF cancel_requested_at ON ai_tasks
  FOR EACH ROW WHEN (NEW.cancel_requested_at IS NOT NULL AND OLD.cancel_requested_at IS NULL AND NEW.status = 'ACTIVE')
  EXECUTE FUNCTION ai_tasks_notify_cancel();

-- One row per processor instance, upserted every few seconds: /api/stats shows the live ones.
CREATE TABLE processor_heartbeats (
  processor_id        text PRIMARY KEY CHECK (length(processor_id) BETWEEN 1 AND 200),
  host                text NOT NULL,
  pid                 integer NOT NULL,
  started_at          timestamptz NOT NULL,
  last_beat_at        timestamptz NOT NULL DEFAULT now(),
  stopped_at          timestamptz,
  submitted           bigint NOT NULL DEFAULT 0,
  succeeded           bigint NOT NULL DEFAULT 0,
  failed              bigint NOT NULL DEFAULT 0,
  retried             bigint NOT NULL DEFAULT 0,
  consecutive_errors  integer NOT NULL DEFAULT 0,
  last_error          text
);

-- RunningHub's TASK_END callbacks, one row per RunningHub task id: a redelivery is recognised and
-- ignored. `applied_at` is set once the result has been written to the task (it may arrive before
-- the processor has committed the task id; the processor applies it then).
CREATE TABLE runninghub_webhook_events (
  runninghub_task_id  text PRIMARY KEY CHECK (runninghub_task_id ~ '^[0-9]{1,30}$'),
  -- The parsed result: {"kind":"success","outputs":[...]} or {"kind":"failed","code":..,"message":..}.
  result              jsonb NOT NULL,
  received_at         timestamptz NOT NULL DEFAULT now(),
  deliveries          integer NOT NULL DEFAULT 1,
  applied_at          timestamptz
);
CREATE INDEX runninghub_webhook_events_unapplied_idx ON runninghub_webhook_events (received_at)
  WHERE applied_at IS NULL;

-- Errors aggregated by kind and message (design 003): how often each one happened, first and last.
CREATE TABLE processor_errors (
  code         text NOT NULL,
  message      text NOT NULL,
  count        bigint NOT NULL DEFAULT 1,
  first_at     timestamptz NOT NULL DEFAULT now(),
  last_at      timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (code, message)
);
