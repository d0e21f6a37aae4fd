-- RunningHub v2 work (issue 12): an account pauses when its wallet is empty, and tasks say which GPU
-- they need.

-- A paused account is not claimed for: RunningHub answered 416 / 812 (or v2's balance message) and
-- every further create would be refused the same way. The processor that saw the refusal sets
-- paused_at (once: the first one wins), the processors check accountStatus at next_balance_check_at
-- with a growing interval (balance_checks counts the checks) and clear the pause when coins are back.
ALTER TABLE runninghub_accounts
  ADD COLUMN paused_at timestamptz,
  ADD COLUMN pause_code text CHECK (pause_code IS NULL OR char_length(pause_code) <= 40),
  ADD COLUMN pause_reason text CHECK (pause_reason IS NULL OR char_length(pause_reason) <= 2000),
  ADD COLUMN next_balance_check_at timestamptz,
  ADD COLUMN balance_checks integer NOT NULL DEFAULT 0 CHECK (balance_checks >= 0),
  ADD CONSTRAINT runninghub_accounts_pause_complete CHECK ((paused_at IS NULL) = (pause_code IS NULL));

-- "default" (24 GB GPU) or "plus" (48 GB); NULL = the workflow's default from the processor's
-- configuration, or RunningHub's own default when there is none.
ALTER TABLE ai_tasks ADD COLUMN instance_type text CHECK (instance_type IN ('default', 'plus'));
