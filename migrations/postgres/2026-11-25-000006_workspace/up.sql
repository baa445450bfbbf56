-- The agent workspace: open cases by queue, by assignee and across the desk, each in
-- the order of the lists (nearest deadline first, then id). Only open cases are in
-- these indexes, so the lists cost the same at a million cases as at ten thousand.
CREATE INDEX cases_open_queue ON cases (queue_id, next_due, id) WHERE resolved_at IS NULL;
CREATE INDEX cases_open_assignee ON cases (assignee_id, next_due, id) WHERE resolved_at IS NULL;
CREATE INDEX cases_open_due ON cases (next_due, id) WHERE resolved_at IS NULL;
