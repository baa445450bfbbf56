-- The webhook outbox: one row per event that some receiver subscribes to, written in
-- the transaction that made the event, whatever the number of receivers. The delivery
-- worker reads it from the oldest, sends each event to its receivers, and in one write
-- records every delivery (webhook_deliveries: the history, and the line of those to
-- retry) and deletes the events it dispatched. A queue, not a cursor: an event whose
-- transaction commits late is still found. It has no index but its key.
CREATE TABLE webhook_outbox (
    id          INTEGER PRIMARY KEY,
    event_id    TEXT NOT NULL,
    event_type  TEXT NOT NULL,
    case_id     BIGINT NOT NULL,
    -- the whole body as sent: {"id", "type", "created_at", "data"}
    body        TEXT NOT NULL,
    created_at  TIMESTAMP NOT NULL
);

-- The background jobs that one instance at a time runs under a lease: the reports'
-- facts, and now the outbox's dispatch.
ALTER TABLE report_jobs RENAME TO jobs;
INSERT INTO jobs (name) VALUES ('webhook_outbox');
