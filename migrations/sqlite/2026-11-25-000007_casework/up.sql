-- The case page's content: identifiers that link customers (hashed, never plain),
-- playbooks per rule and language, and logged verification calls.
CREATE TABLE customer_identifiers (
    -- device_id, ip or phone
    kind        TEXT NOT NULL,
    -- SHA-256 of "<kind>:<normalised value>": links without holding the value
    value_hash  TEXT NOT NULL,
    customer_id INTEGER NOT NULL REFERENCES customers (id),
    -- the value as masked for display
    masked      TEXT NOT NULL,
    PRIMARY KEY (value_hash, customer_id)
);
CREATE INDEX customer_identifiers_customer ON customer_identifiers (customer_id);

CREATE TABLE playbooks (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    rule_code   TEXT NOT NULL,
    lang        TEXT NOT NULL,
    steps       TEXT NOT NULL,
    script      TEXT NOT NULL,
    updated_at  TIMESTAMP NOT NULL,
    updated_by  INTEGER REFERENCES users (id),
    UNIQUE (rule_code, lang)
);

CREATE TABLE calls (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    case_id          INTEGER NOT NULL REFERENCES cases (id),
    agent_id         INTEGER REFERENCES users (id),
    at               TIMESTAMP NOT NULL,
    number_masked    TEXT NOT NULL,
    direction        TEXT NOT NULL,
    outcome          TEXT NOT NULL,
    duration_seconds INTEGER,
    notes            TEXT NOT NULL DEFAULT '',
    callback_at      TIMESTAMP,
    reminded_at      TIMESTAMP
);
CREATE INDEX calls_case ON calls (case_id, id);
CREATE INDEX calls_callback_due ON calls (callback_at) WHERE reminded_at IS NULL AND callback_at IS NOT NULL;
