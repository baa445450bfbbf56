-- Two-factor sign-in (TOTP, RFC 6238). One authenticator per user: its shared secret
-- sealed under a key derived from the desk's secret key, never shown again once
-- confirmed; the last time step accepted, so that a code is accepted once only, on
-- every instance (a code's step must be later than it).
CREATE TABLE mfa_factors (
    user_id       BIGINT PRIMARY KEY REFERENCES users (id),
    secret_sealed TEXT NOT NULL,
    created_at    TIMESTAMP NOT NULL,
    -- NULL while the user has not yet typed a code from the app (enrolment pending)
    confirmed_at  TIMESTAMP,
    last_step     BIGINT
);

-- Single-use recovery codes, stored as SHA-256 digests of "<user id>:<code>".
CREATE TABLE mfa_recovery_codes (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id    BIGINT NOT NULL REFERENCES users (id),
    code_hash  TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    used_at    TIMESTAMP
);
CREATE UNIQUE INDEX mfa_recovery_codes_hash ON mfa_recovery_codes (user_id, code_hash);

-- A sign-in waiting for its second step: the password was right, no session exists
-- yet. The browser holds the token (a cookie), the table its digest; short-lived.
CREATE TABLE mfa_challenges (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    token_hash TEXT NOT NULL UNIQUE,
    user_id    BIGINT NOT NULL REFERENCES users (id),
    created_at TIMESTAMP NOT NULL,
    expires_at TIMESTAMP NOT NULL,
    ip         TEXT
);
CREATE INDEX mfa_challenges_user ON mfa_challenges (user_id);
CREATE INDEX mfa_challenges_expiry ON mfa_challenges (expires_at);
