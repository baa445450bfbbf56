DROP INDEX cases_open_queue;
DROP INDEX cases_open_assignee;
DROP INDEX cases_open_due;
CREATE INDEX cases_open_queue ON cases (queue_id, next_due, id) WHERE resolved_at IS NULL;
CREATE INDEX cases_open_assignee ON cases (assignee_id, next_due, id) WHERE resolved_at IS NULL;
CREATE INDEX cases_open_due ON cases (next_due, id) WHERE resolved_at IS NULL;
ALTER TABLE cases DROP COLUMN priority_rank;
