-- Storyboards (batches of shots, each shot one ai_tasks row), the group a claim takes turns between,
-- and profiles (named limits within the account's limit). src/db/storyboards/ holds their SQL.

CREATE TABLE storyboards (
  id                  uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  name                text NOT NULL CHECK (length(name) BETWEEN 1 AND 500),
  -- The entity the storyboard belongs to (a project, a scene...), as for tasks.
  entity_type         text NOT NULL CHECK (length(entity_type) BETWEEN 1 AND 100),
  entity_id           text NOT NULL CHECK (length(entity_id) BETWEEN 1 AND 200),
  -- Shared settings as the client sent them (null: not given); each shot's row holds what it resolved to.
  workflow_id         text,
  webapp_id           text,
  priority            integer,
  max_attempts        integer CHECK (max_attempts IS NULL OR max_attempts BETWEEN 1 AND 100),
  instance_type       text CHECK (instance_type IS NULL OR length(instance_type) BETWEEN 1 AND 100),
  profile             text CHECK (profile IS NULL OR length(profile) BETWEEN 1 AND 100),
  callback_url        text CHECK (callback_url IS NULL OR length(callback_url) BETWEEN 1 AND 2000),
  idempotency_key     text UNIQUE CHECK (length(idempotency_key) BETWEEN 1 AND 255),
  request_fingerprint text,
  -- Shot counts by status, kept by ai_tasks_count_storyboards in the statement that changes a shot
  -- (the storyboard row is locked there, so concurrent processors never lose an update).
  pending             integer NOT NULL DEFAULT 0 CHECK (pending >= 0),
  active              integer NOT NULL DEFAULT 0 CHECK (active >= 0),
  success             integer NOT NULL DEFAULT 0 CHECK (success >= 0),
  failed              integer NOT NULL DEFAULT 0 CHECK (failed >= 0),
  cancelled           integer NOT NULL DEFAULT 0 CHECK (cancelled >= 0),
  -- The claim turn in which a shot of this storyboard was last claimed (fair claiming: the group
  -- served longest ago goes first). Null: never claimed.
  last_turn           bigint,
  -- Set by POST /api/storyboards/:id/cancel, cleared by /retry: "cancelled" rather than "done with failures".
  cancelled_at        timestamptz,
  created_at          timestamptz NOT NULL DEFAULT now(),
  updated_at          timestamptz NOT NULL DEFAULT now(),
  finished_at         timestamptz,
  CONSTRAINT storyboards_at_most_one_target CHECK (workflow_id IS NULL OR webapp_id IS NULL)
);
CREATE INDEX storyboards_created_idx ON storyboards (created_at DESC, id DESC);
CREATE INDEX storyboards_entity_idx ON storyboards (entity_type, entity_id, created_at DESC, id DESC);

-- A shot's storyboard and its place in it; a storyboard deleted takes its shots with it.
ALTER TABLE ai_tasks ADD COLUMN storyboard_id uuid REFERENCES storyboards (id) ON DELETE CASCADE;
ALTER TABLE ai_tasks ADD COLUMN shot_index integer CHECK (shot_index IS NULL OR shot_index >= 0);
ALTER TABLE ai_tasks ADD CONSTRAINT ai_tasks_shot_has_index CHECK ((storyboard_id IS NULL) = (shot_index IS NULL));
CREATE UNIQUE INDEX ai_tasks_storyboard_idx ON ai_tasks (storyboard_id, shot_index) WHERE storyboard_id IS NOT NULL;

-- Profiles: named settings for a kind of work. The processor writes the configured ones here at start
-- (src/db/storyboards/profiles.ts); `running` counts the tasks holding one of the account's slots under
-- this profile (ai_tasks.slot_profile), taken by the claim and given back with the account's slot.
CREATE TABLE task_profiles (
  name          text PRIMARY KEY CHECK (length(name) BETWEEN 1 AND 100),
  max_running   integer NOT NULL CHECK (max_running BETWEEN 1 AND 1000),
  running       integer NOT NULL DEFAULT 0 CHECK (running >= 0),
  -- Tasks of these workflows / apps use this profile unless their storyboard names another.
  workflow_ids  text[] NOT NULL DEFAULT '{}',
  webapp_ids    text[] NOT NULL DEFAULT '{}',
  timeout_ms    integer CHECK (timeout_ms IS NULL OR timeout_ms > 0),
  poll_ms       integer CHECK (poll_ms IS NULL OR poll_ms > 0),
  backoff_ms    integer CHECK (backoff_ms IS NULL OR backoff_ms >= 0),
  max_attempts  integer CHECK (max_attempts IS NULL OR max_attempts BETWEEN 1 AND 100),
  updated_at    timestamptz NOT NULL DEFAULT now()
);
-- The profile a task was created under (its storyboard's), or null: chosen by workflow/app at claim.
ALTER TABLE ai_tasks ADD COLUMN profile text CHECK (profile IS NULL OR length(profile) BETWEEN 1 AND 100);
-- The profile whose slot the claim took; it counts in task_profiles.running while slot_account is set.
ALTER TABLE ai_tasks ADD COLUMN slot_profile text;

-- Claim turns: each claim statement that takes shots of a storyboard stamps it with the next turn.
CREATE SEQUENCE storyboard_turns;

-- Statement-level triggers keep the storyboards' counts and turns, and give profile slots back.
-- Statement level, so a 200-shot insert or a claim of three shots updates each storyboard once, and
-- always in id order (two statements touching the same storyboards queue instead of deadlocking).
-- They run after the statement's own updates, so the account row (locked first by claims and releases
-- alike) is always locked before a storyboard or profile row.
CREATE TYPE storyboard_count_delta AS (
  storyboard_id uuid, pending int, active int, success int, failed int, cancelled int, claimed int);

CREATE FUNCTION storyboards_apply_deltas(deltas storyboard_count_delta[]) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
  turn bigint;
  d storyboard_count_delta;
BEGIN
  IF deltas IS NULL THEN
    RETURN;
  END IF;
  FOREACH d IN ARRAY deltas LOOP
    IF d.claimed > 0 AND turn IS NULL THEN
      turn := nextval('storyboard_turns');
    END IF;
    UPDATE storyboards s SET
           pending = s.pending + d.pending, active = s.active + d.active, success = s.success + d.success,
           failed = s.failed + d.failed, cancelled = s.cancelled + d.cancelled,
           last_turn = CASE WHEN d.claimed > 0 THEN turn ELSE s.last_turn END,
           finished_at = CASE WHEN s.pending + d.pending + s.active + d.active = 0
                              THEN coalesce(s.finished_at, now()) END,
           updated_at = now()
     WHERE s.id = d.storyboard_id;
  END LOOP;
END $$;

CREATE FUNCTION ai_tasks_count_inserted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM storyboards_apply_deltas((
    SELECT array_agg(ROW(c.storyboard_id, c.pending, c.active, c.success, c.failed, c.cancelled, 0)::storyboard_count_delta
                     ORDER BY c.storyboard_id)
      FROM (SELECT storyboard_id,
                   count(*) FILTER (WHERE status = 'PENDING')::int AS pending,
                   count(*) FILTER (WHERE status = 'ACTIVE')::int AS active,
                   count(*) FILTER (WHERE status = 'SUCCESS')::int AS success,
                   count(*) FILTER (WHERE status = 'FAILED')::int AS failed,
                   count(*) FILTER (WHERE status = 'CANCELLED')::int AS cancelled
              FROM new_rows WHERE storyboard_id IS NOT NULL GROUP BY storyboard_id) c));
  RETURN NULL;
END $$;

CREATE FUNCTION ai_tasks_count_deleted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM storyboards_apply_deltas((
    SELECT array_agg(ROW(c.storyboard_id, c.pending, c.active, c.success, c.failed, c.cancelled, 0)::storyboard_count_delta
                     ORDER BY c.storyboard_id)
      FROM (SELECT storyboard_id,
                   -count(*) FILTER (WHERE status = 'PENDING')::int AS pending,
                   -count(*) FILTER (WHERE status = 'ACTIVE')::int AS active,
                   -count(*) FILTER (WHERE status = 'SUCCESS')::int AS success,
                   -count(*) FILTER (WHERE status = 'FAILED')::int AS failed,
                   -count(*) FILTER (WHERE status = 'CANCELLED')::int AS cancelled
              FROM old_rows WHERE storyboard_id IS NOT NULL GROUP BY storyboard_id) c));
  RETURN NULL;
END $$;

CREATE FUNCTION ai_tasks_count_updated() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  -- Profile slots given back: the task's account slot was released in this statement.
  UPDATE task_profiles p SET running = p.running - r.n, updated_at = now()
    FROM (SELECT o.slot_profile AS name, count(*)::int AS n
            FROM old_rows o JOIN new_rows n ON n.id = o.id
           WHERE o.slot_account IS NOT NULL AND n.slot_account IS NULL AND o.slot_profile IS NOT NULL
           GROUP BY o.slot_profile) r
   WHERE p.name = r.name;
  PERFORM storyboards_apply_deltas((
    SELECT array_agg(ROW(c.storyboard_id, c.pending, c.active, c.success, c.failed, c.cancelled, c.claimed)::storyboard_count_delta
                     ORDER BY c.storyboard_id)
      FROM (SELECT n.storyboard_id,
                   sum((n.status = 'PENDING')::int - (o.status = 'PENDING')::int)::int AS pending,
                   sum((n.status = 'ACTIVE')::int - (o.status = 'ACTIVE')::int)::int AS active,
                   sum((n.status = 'SUCCESS')::int - (o.status = 'SUCCESS')::int)::int AS success,
                   sum((n.status = 'FAILED')::int - (o.status = 'FAILED')::int)::int AS failed,
                   sum((n.status = 'CANCELLED')::int - (o.status = 'CANCELLED')::int)::int AS cancelled,
                   sum((o.status = 'PENDING' AND n.status = 'ACTIVE')::int)::int AS claimed
              FROM old_rows o JOIN new_rows n ON n.id = o.id
             WHERE n.storyboard_id IS NOT NULL AND o.status IS DISTINCT FROM n.status
             GROUP BY n.storyboard_id) c));
  RETURN NULL;
END $$;

CREATE TRIGGER ai_tasks_count_storyboards_insert AFTER INSERT ON ai_tasks
  REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION ai_tasks_count_inserted();
CREATE TRIGGER ai_tasks_count_storyboards_update AFTER UPDATE ON ai_tasks
  REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION ai_tasks_count_updated();
CREATE TRIGGER ai_tasks_count_storyboards_delete AFTER DELETE ON ai_tasks
  REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION ai_tasks_count_deleted();
