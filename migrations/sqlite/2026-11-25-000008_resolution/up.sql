-- Resolution: each closing of a case is a row (a request while it waits for a second
-- pair of eyes), kept for the reports; a reopened or handed-off case's SLA clock starts
-- anew from `sla_started_at`.
ALTER TABLE cases ADD COLUMN sla_started_at TIMESTAMP;
ALTER TABLE cases ADD COLUMN resolved_by INTEGER REFERENCES users (id);
ALTER TABLE cases ADD COLUMN reopen_count INTEGER NOT NULL DEFAULT 0;

CREATE TABLE resolutions (
    id                 INTEGER PRIMARY KEY AUTOINCREMENT,
    case_id            INTEGER NOT NULL REFERENCES cases (id),
    disposition        TEXT NOT NULL,
    action             TEXT NOT NULL,
    amount_protected   TEXT,
    currency           TEXT,
    note               TEXT NOT NULL,
    customer_confirmed BOOLEAN NOT NULL DEFAULT 0,
    resolver_id        INTEGER REFERENCES users (id),
    created_at         TIMESTAMP NOT NULL,
    -- Why a supervisor must approve it ('release_over_threshold', 'aml_false_positive'),
    -- or NULL when it took effect at once.
    approval_reason    TEXT,
    -- 'pending' | 'approved' | 'rejected' | 'final'
    state              TEXT NOT NULL,
    approver_id        INTEGER REFERENCES users (id),
    decided_at         TIMESTAMP,
    decision_note      TEXT
);
CREATE INDEX resolutions_case ON resolutions (case_id, id);
CREATE INDEX resolutions_state ON resolutions (state, created_at);
-- At most one request waits per case.
CREATE UNIQUE INDEX resolutions_one_pending ON resolutions (case_id) WHERE state = 'pending';
