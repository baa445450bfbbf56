-- Emergencies: a case that needs a person now. Declared by an agent or supervisor
-- with a reason, or by the desk itself (a critical case breaching, an alert over its
-- rule's emergency_amount). The queue's on-call person is paged; nobody acknowledging
-- within the rota's ack_minutes pages the next rota's, then every supervisor. One open
-- emergency per case.
CREATE TABLE emergencies (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    case_id         BIGINT NOT NULL REFERENCES cases (id),
    -- declared | breach | amount
    cause           TEXT NOT NULL,
    reason          TEXT NOT NULL,
    declared_by     BIGINT REFERENCES users (id),
    declared_at     TIMESTAMP NOT NULL,
    -- the step of escalation: 0 the first page, then one more for each group paged
    level           INTEGER NOT NULL DEFAULT 0,
    -- the rota paged last (NULL: every supervisor)
    rota            TEXT,
    -- when nobody acknowledging pages the next group (NULL: there is none)
    ack_due_at      TIMESTAMP,
    acknowledged_by BIGINT REFERENCES users (id),
    acknowledged_at TIMESTAMP,
    ended_at        TIMESTAMP,
    ended_by        BIGINT REFERENCES users (id),
    -- resolved | stood_down
    ended_how       TEXT,
    end_reason      TEXT
);
CREATE UNIQUE INDEX emergencies_open_case ON emergencies (case_id) WHERE ended_at IS NULL;
CREATE INDEX emergencies_due ON emergencies (ack_due_at) WHERE ended_at IS NULL AND acknowledged_at IS NULL;
CREATE INDEX emergencies_declared ON emergencies (declared_at);

-- Each person paged for an emergency: the banner on every page of theirs until it
-- is answered (acknowledged, handed on, or the emergency acknowledged by another or
-- ended).
CREATE TABLE pages (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    emergency_id  BIGINT NOT NULL REFERENCES emergencies (id),
    user_id       BIGINT NOT NULL REFERENCES users (id),
    level         INTEGER NOT NULL,
    -- the rota it came through (NULL: every supervisor, or handed over)
    rota          TEXT,
    paged_at      TIMESTAMP NOT NULL,
    answered_at   TIMESTAMP,
    -- acknowledged | handed_over | closed
    answer        TEXT
);
CREATE INDEX pages_open ON pages (user_id) WHERE answered_at IS NULL;
CREATE INDEX pages_emergency ON pages (emergency_id);

-- An alert of the rule over this amount (per currency, as release_on_confirm_up_to)
-- declares an emergency on its case.
ALTER TABLE rules ADD COLUMN emergency_amount TEXT;
