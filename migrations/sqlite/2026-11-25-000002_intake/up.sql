-- Intake: the desk's configuration (calendars, SLA policies, queues, rules, routes),
-- customers, alerts, cases and their append-only timeline.
CREATE TABLE calendars (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    name       TEXT NOT NULL UNIQUE,
    timezone   TEXT NOT NULL,
    hours      TEXT NOT NULL,
    holidays   TEXT NOT NULL,
    updated_at TIMESTAMP NOT NULL
);

CREATE TABLE sla_policies (
    id                INTEGER PRIMARY KEY AUTOINCREMENT,
    name              TEXT NOT NULL UNIQUE,
    calendar_id       INTEGER REFERENCES calendars (id),
    warn_at_percent   TEXT NOT NULL,
    max_pause_minutes INTEGER NOT NULL,
    targets           TEXT NOT NULL,
    updated_at        TIMESTAMP NOT NULL
);

CREATE TABLE queues (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    name          TEXT NOT NULL UNIQUE,
    sla_policy_id INTEGER NOT NULL REFERENCES sla_policies (id),
    skills        TEXT NOT NULL,
    updated_at    TIMESTAMP NOT NULL
);

CREATE TABLE rules (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    code             TEXT NOT NULL UNIQUE,
    name             TEXT NOT NULL,
    category         TEXT NOT NULL,
    default_severity TEXT NOT NULL,
    weight           INTEGER NOT NULL,
    updated_at       TIMESTAMP NOT NULL
);

CREATE TABLE routes (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    position     INTEGER NOT NULL,
    rule_code    TEXT,
    category     TEXT,
    min_severity TEXT,
    min_amount   TEXT,
    currency     TEXT,
    queue_id     INTEGER NOT NULL REFERENCES queues (id),
    priority     TEXT,
    valid_from   TIMESTAMP,
    valid_until  TIMESTAMP
);

CREATE TABLE customers (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    external_id TEXT NOT NULL UNIQUE,
    name        TEXT,
    email       TEXT,
    phone       TEXT,
    locale      TEXT,
    timezone    TEXT,
    attributes  TEXT NOT NULL DEFAULT '{}',
    created_at  TIMESTAMP NOT NULL,
    updated_at  TIMESTAMP NOT NULL
);

CREATE TABLE cases (
    id                 INTEGER PRIMARY KEY AUTOINCREMENT,
    customer_id        INTEGER NOT NULL REFERENCES customers (id),
    queue_id           INTEGER NOT NULL REFERENCES queues (id),
    priority           TEXT NOT NULL,
    status             TEXT NOT NULL,
    rule_code          TEXT NOT NULL,
    -- "<customer>:<queue>" while the case is open, NULL once resolved: at most one
    -- open case per customer per queue, enforced by the database.
    open_key           TEXT UNIQUE,
    opened_at          TIMESTAMP NOT NULL,
    updated_at         TIMESTAMP NOT NULL,
    first_response_due TIMESTAMP NOT NULL,
    resolution_due     TIMESTAMP NOT NULL,
    first_responded_at TIMESTAMP,
    resolved_at        TIMESTAMP,
    paused_since       TIMESTAMP,
    pause_reason       TEXT,
    paused_minutes     INTEGER NOT NULL DEFAULT 0,
    breached           BOOLEAN NOT NULL DEFAULT 0,
    assignee_id        INTEGER REFERENCES users (id),
    disposition        TEXT,
    alert_count        INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX cases_updated ON cases (updated_at, id);
CREATE INDEX cases_status_updated ON cases (status, updated_at, id);
CREATE INDEX cases_queue_updated ON cases (queue_id, updated_at, id);
CREATE INDEX cases_customer ON cases (customer_id);

CREATE TABLE alerts (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    external_id     TEXT NOT NULL UNIQUE,
    rule_code       TEXT NOT NULL,
    severity        TEXT NOT NULL,
    occurred_at     TIMESTAMP,
    received_at     TIMESTAMP NOT NULL,
    customer_id     INTEGER NOT NULL REFERENCES customers (id),
    case_id         INTEGER REFERENCES cases (id),
    amount          TEXT,
    currency        TEXT,
    transaction_ref TEXT,
    attributes      TEXT NOT NULL DEFAULT '{}',
    api_key_id      INTEGER REFERENCES api_keys (id),
    result          TEXT
);
CREATE INDEX alerts_case ON alerts (case_id);

CREATE TABLE case_events (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    case_id       INTEGER NOT NULL REFERENCES cases (id),
    at            TIMESTAMP NOT NULL,
    kind          TEXT NOT NULL,
    actor_user_id INTEGER REFERENCES users (id),
    data          TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX case_events_case ON case_events (case_id, id);

CREATE TRIGGER case_events_no_update BEFORE UPDATE ON case_events
BEGIN SELECT RAISE(ABORT, 'case_events is append-only'); END;
CREATE TRIGGER case_events_no_delete BEFORE DELETE ON case_events
BEGIN SELECT RAISE(ABORT, 'case_events is append-only'); END;

-- A fresh desk has a triage queue with a 24/7 policy, so no alert goes nowhere
-- before the first configuration is applied.
INSERT INTO sla_policies (name, calendar_id, warn_at_percent, max_pause_minutes, targets, updated_at)
VALUES ('default', NULL, '[75,90]', 1440,
        '{"critical":{"first_response":15,"resolution":120},"high":{"first_response":30,"resolution":240},"medium":{"first_response":120,"resolution":1440},"low":{"first_response":480,"resolution":4320}}',
        CURRENT_TIMESTAMP);
INSERT INTO queues (name, sla_policy_id, skills, updated_at)
SELECT 'Triage', id, '[]', CURRENT_TIMESTAMP FROM sla_policies WHERE name = 'default';
INSERT INTO app_settings (key, value) VALUES ('triage_queue', 'Triage');
INSERT INTO app_settings (key, value) VALUES ('config_version', '1');
