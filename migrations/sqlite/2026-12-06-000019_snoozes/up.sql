-- Snoozes: after a customer confirmed a false positive, that rule's alerts of that
-- customer are stored and answered without a case until `until` (or until a
-- supervisor ends the snooze). One active snooze per customer and rule.
CREATE TABLE snoozes (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    customer_id BIGINT NOT NULL REFERENCES customers (id),
    rule_code   TEXT NOT NULL,
    -- the case whose confirmed false positive it was made on
    case_id     BIGINT NOT NULL REFERENCES cases (id),
    reason      TEXT NOT NULL,
    created_by  BIGINT REFERENCES users (id),
    created_at  TIMESTAMP NOT NULL,
    until       TIMESTAMP NOT NULL,
    ended_at    TIMESTAMP,
    ended_by    BIGINT REFERENCES users (id),
    -- 'ended' by a supervisor, or 'expired'
    end_reason  TEXT
);
CREATE UNIQUE INDEX snoozes_active ON snoozes (customer_id, rule_code) WHERE ended_at IS NULL;
CREATE INDEX snoozes_due ON snoozes (until) WHERE ended_at IS NULL;
-- How many active snoozes a customer has: read with the customer at intake, so an
-- alert of a customer without one asks nothing more.
ALTER TABLE customers ADD COLUMN active_snoozes INTEGER NOT NULL DEFAULT 0;
-- An alert a snooze kept from opening a case points at it (and has no case).
ALTER TABLE alerts ADD COLUMN suppressed_by BIGINT REFERENCES snoozes (id);
