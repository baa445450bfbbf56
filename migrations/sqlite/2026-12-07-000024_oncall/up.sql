-- On-call rotas of the desk's configuration (`[[oncall]]`), in the file's order; a
-- queue may name the rota paged for its emergencies. Overrides: a person covers a
-- period of a rota in place of whoever is scheduled (added and removed on /oncall).
CREATE TABLE oncall_rotas (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    name           TEXT NOT NULL UNIQUE,
    position       INTEGER NOT NULL,
    timezone       TEXT NOT NULL,
    -- the members' e-mail addresses in turn order (a JSON list)
    members        TEXT NOT NULL,
    rotation_hours INTEGER NOT NULL,
    -- when the first turn began
    handover       TIMESTAMP NOT NULL,
    ack_minutes    INTEGER NOT NULL,
    -- the name of the rota paged when nobody of this one acknowledges
    next_rota      TEXT,
    updated_at     TIMESTAMP NOT NULL
);
ALTER TABLE queues ADD COLUMN oncall_rota_id BIGINT REFERENCES oncall_rotas (id);
CREATE TABLE oncall_overrides (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    rota_id    BIGINT NOT NULL REFERENCES oncall_rotas (id) ON DELETE CASCADE,
    -- who covers
    user_id    BIGINT NOT NULL REFERENCES users (id),
    starts_at  TIMESTAMP NOT NULL,
    ends_at    TIMESTAMP NOT NULL,
    reason     TEXT NOT NULL,
    created_by BIGINT REFERENCES users (id),
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX oncall_overrides_rota ON oncall_overrides (rota_id, ends_at);
