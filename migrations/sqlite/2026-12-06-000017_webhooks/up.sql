-- Webhooks: receivers of the desk's decisions. A delivery row is written for each
-- subscribed webhook in the transaction that made the event (the durable outbox),
-- and sent by the delivery worker with retries; `event_id` (random, 144 bits) is the
-- same for every receiver of one event and stays the same over retries, so a
-- receiver can drop repeats. Deliveries of one case go out in the order they were made.
CREATE TABLE webhooks (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    name        TEXT NOT NULL UNIQUE,
    url         TEXT NOT NULL,
    -- the event types it receives, comma-separated between commas (",case.opened,"),
    -- so one LIKE finds the subscribers of a type
    events      TEXT NOT NULL,
    -- the HMAC-SHA256 signing key, hex
    secret      TEXT NOT NULL,
    enabled     BOOLEAN NOT NULL DEFAULT 1,
    -- deliveries it has had, counted as the worker records them (for /metrics)
    delivered   BIGINT NOT NULL DEFAULT 0,
    created_at  TIMESTAMP NOT NULL,
    rotated_at  TIMESTAMP
);

CREATE TABLE webhook_deliveries (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    webhook_id      INTEGER NOT NULL REFERENCES webhooks (id) ON DELETE CASCADE,
    event_id        TEXT NOT NULL,
    event_type      TEXT NOT NULL,
    -- the case the event is about (0 when none): deliveries of one case keep order
    case_id         BIGINT NOT NULL,
    -- the whole body as sent: {"id", "type", "created_at", "data"}
    body            TEXT NOT NULL,
    created_at      TIMESTAMP NOT NULL,
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TIMESTAMP,
    claimed_until   TIMESTAMP,
    claim           TEXT,
    last_status     INTEGER,
    last_error      TEXT,
    delivered_at    TIMESTAMP
);
-- The one index besides the key, on the waiting deliveries only: the worker finds
-- what is due through it, and whether an earlier delivery of the same case to the
-- same receiver still waits (order). A delivered row leaves it, so its size is the
-- backlog, not the history. (Each index more is another write on every event.)
CREATE INDEX webhook_deliveries_line ON webhook_deliveries (webhook_id, case_id, id) WHERE delivered_at IS NULL;
