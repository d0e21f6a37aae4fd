-- Indexes for the bounded fair claim (src/db/tasks/queue.ts claimPendingTasks): a claim reads each
-- group's first `limit` due tasks through these instead of ranking every PENDING task, so its cost
-- does not grow with the backlog.

-- Lone tasks (no storyboard) in claim order; ai_tasks_pending_idx also holds every shot, which a scan
-- for lone tasks would have to step over.
CREATE INDEX ai_tasks_pending_lone_idx ON ai_tasks (priority DESC, created_at, id)
  WHERE status = 'PENDING' AND storyboard_id IS NULL;
-- A storyboard's shots in its turn order (priority, then created_at, shot_index, id).
CREATE INDEX ai_tasks_pending_shots_idx ON ai_tasks (storyboard_id, priority DESC, created_at, shot_index, id)
  WHERE status = 'PENDING' AND storyboard_id IS NOT NULL;
-- The storyboards with shots waiting (storyboards.pending, kept by migration 006's triggers): finished
-- storyboards, however many, are not visited.
CREATE INDEX storyboards_pending_idx ON storyboards (id) WHERE pending > 0;

-- The lone tasks a claim can pick, in claim order: a task whose profile has no slot left for it among
-- the lone tasks before it (the claim would pass it over) is stepped over here, so a long run of one
-- saturated profile does not hide the tasks after it. Stops after `want` + each profile's
-- min(free, want) tasks: at most that many of them can still be passed over by the claim (shots of
-- the same profile ahead of them), so the claim finds its `want` tasks among them as it would among
-- all. `profiles` is the claim's locked profile rows as [{name, free, workflow_ids, webapp_ids}] in
-- name order (a task without its own profile takes the first whose workflow or app it runs).
CREATE FUNCTION ai_tasks_lone_claim_candidates(want int, profiles jsonb) RETURNS SETOF uuid
LANGUAGE plpgsql STABLE ROWS 10
SET cursor_tuple_fraction = 0.0001 AS $$
DECLARE
  lone refcursor;
  r record;
  taken jsonb := '{}';
  n int;
  returned int := 0;
  bound int;
BEGIN
  profiles := coalesce(profiles, '[]');
  SELECT want + coalesce(sum(least((p ->> 'free')::int, want)), 0)::int INTO bound
    FROM jsonb_array_elements(profiles) p;
  -- An explicit cursor is planned for its first rows (a FOR loop's query is planned for all of them,
  -- which sorts every lone task).
  OPEN lone FOR
    SELECT t.id, pr.name, pr.free
      FROM ai_tasks t
      LEFT JOIN LATERAL (
        SELECT e.p ->> 'name' AS name, (e.p ->> 'free')::int AS free
          FROM jsonb_array_elements(profiles) e(p)
         WHERE e.p ->> 'name' = coalesce(t.profile, (
                 SELECT f.q ->> 'name' FROM jsonb_array_elements(profiles) WITH ORDINALITY f(q, i)
                  WHERE f.q -> 'workflow_ids' ? t.workflow_id OR f.q -> 'webapp_ids' ? t.webapp_id
                  ORDER BY f.i LIMIT 1))) pr ON true
     WHERE t.status = 'PENDING' AND t.storyboard_id IS NULL AND t.run_after <= now() AND t.cancel_requested_at IS NULL
     ORDER BY t.priority DESC, t.created_at, t.id;
  LOOP
    FETCH lone INTO r;
    EXIT WHEN NOT FOUND;
    IF r.name IS NOT NULL THEN
      n := coalesce((taken ->> r.name)::int, 0);
      CONTINUE WHEN n >= r.free;
      taken := jsonb_set(taken, ARRAY[r.name], to_jsonb(n + 1));
    END IF;
    RETURN NEXT r.id;
    returned := returned + 1;
    EXIT WHEN returned >= bound;
  END LOOP;
  CLOSE lone;
END $$;
