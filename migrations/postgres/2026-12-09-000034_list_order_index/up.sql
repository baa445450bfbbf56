-- The lists' order (nearest deadline, then the higher priority, then the older case)
-- read straight from an index: the priority's rank is a column the database derives
-- from the priority, so no list sorts its whole backlog to show its first page.
ALTER TABLE cases ADD COLUMN priority_rank integer NOT NULL
    GENERATED ALWAYS AS (CASE priority WHEN 'critical' THEN 0 WHEN 'high' THEN 1 WHEN 'medium' THEN 2 ELSE 3 END) STORED;

DROP INDEX cases_open_queue;
DROP INDEX cases_open_assignee;
DROP INDEX cases_open_due;
CREATE INDEX cases_open_queue ON cases (queue_id, next_due, priority_rank, id) WHERE resolved_at IS NULL;
CREATE INDEX cases_open_assignee ON cases (assignee_id, next_due, priority_rank, id) WHERE resolved_at IS NULL;
CREATE INDEX cases_open_due ON cases (next_due, priority_rank, id) WHERE resolved_at IS NULL;
