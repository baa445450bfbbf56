-- Inbound e-mail: every mail the desk receives (by its SMTP listener or from its
-- IMAP mailbox), stored raw before anything is done with it, once (by its
-- Message-ID, else the SHA-256 of its bytes), and what became of it: attached to
-- a case, waiting in Triage with the reason, or discarded by a supervisor.
CREATE TABLE inbound_mail (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    dedup_key     TEXT NOT NULL UNIQUE,
    -- smtp | imap
    source        TEXT NOT NULL,
    -- the SMTP envelope's recipients, comma-separated
    envelope_to   TEXT,
    raw           BLOB NOT NULL,
    size          INTEGER NOT NULL,
    received_at   TIMESTAMP NOT NULL,
    processed_at  TIMESTAMP,
    -- attached | triage | discarded
    outcome       TEXT,
    -- why it went to Triage: no_match | forged_tag | not_customer | case_resolved |
    -- empty | too_long | unreadable
    reason        TEXT,
    -- the case it was attached to (or, in Triage, the case it seemed to be about)
    case_id       INTEGER REFERENCES cases (id),
    message_row   INTEGER REFERENCES messages (id),
    from_addr     TEXT,
    subject       TEXT,
    decided_by    INTEGER REFERENCES users (id),
    decided_at    TIMESTAMP
);
CREATE INDEX inbound_mail_unprocessed ON inbound_mail (id) WHERE processed_at IS NULL;
CREATE INDEX inbound_mail_outcome ON inbound_mail (outcome, id);
