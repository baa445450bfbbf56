-- The supervisor board, QA sampling and the weekly risk-trend brief.

-- The board's backlog counts open cases by queue, status and breach: this index
-- holds those columns for open cases only (`resolved_at`, always NULL here, is in it
-- so that SQLite reads the index alone), so the count never touches the table and
-- costs the same at a million resolved cases as at none.
CREATE INDEX cases_open_board ON cases (queue_id, status, breached, resolved_at) WHERE resolved_at IS NULL;

-- QA sampling: a resolved case picked for review stands `qa_pending` until a
-- supervisor scores it (`qa_reviewed_at`). Both are set by the resolving UPDATE.
ALTER TABLE cases ADD COLUMN qa_pending BOOLEAN NOT NULL DEFAULT 0;
ALTER TABLE cases ADD COLUMN qa_reviewed_at TIMESTAMP;
CREATE INDEX cases_qa_pending ON cases (resolved_at, id) WHERE qa_pending;

CREATE TABLE qa_reviews (
    id                        INTEGER PRIMARY KEY AUTOINCREMENT,
    case_id                   INTEGER NOT NULL UNIQUE REFERENCES cases (id),
    reviewer_id               INTEGER NOT NULL REFERENCES users (id),
    resolver_id               INTEGER REFERENCES users (id),
    identity_verified         BOOLEAN NOT NULL,
    disposition_supported     BOOLEAN NOT NULL,
    communication_appropriate BOOLEAN NOT NULL,
    timeline_complete         BOOLEAN NOT NULL,
    passed                    BOOLEAN NOT NULL,
    comment                   TEXT,
    reviewed_at               TIMESTAMP NOT NULL
);
CREATE INDEX qa_reviews_at ON qa_reviews (reviewed_at, id);

-- The weekly brief reads a week's alerts, cases and a few kinds of timeline events
-- by time. The event indexes are partial: only the kinds the brief reads pay for them.
CREATE INDEX alerts_received ON alerts (received_at, rule_code);
CREATE INDEX cases_opened ON cases (opened_at, rule_code);
CREATE INDEX case_events_breached ON case_events (at) WHERE kind = 'sla.breached';
CREATE INDEX case_events_reopened ON case_events (at) WHERE kind = 'case.reopened';
CREATE INDEX case_events_answered ON case_events (at) WHERE kind = 'verification.answered';

-- One row per finished week: its figures as JSON, and when it was mailed to the
-- supervisors (set once, by the instance whose conditional update wins).
CREATE TABLE weekly_briefs (
    week       TEXT PRIMARY KEY NOT NULL,
    starts_at  TIMESTAMP NOT NULL,
    ends_at    TIMESTAMP NOT NULL,
    timezone   TEXT NOT NULL,
    figures    TEXT NOT NULL,
    built_at   TIMESTAMP NOT NULL,
    mailed_at  TIMESTAMP
);
