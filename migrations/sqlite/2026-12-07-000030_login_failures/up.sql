-- Failed sign-ins per client address, shared by every instance on the database: the
-- per-address limit (20 in 15 minutes) holds however many instances a balancer
-- spreads the attempts over. Rows older than the window are removed as new ones come.
CREATE TABLE login_failures (
    id   INTEGER PRIMARY KEY AUTOINCREMENT,
    addr TEXT NOT NULL,
    at   TIMESTAMP NOT NULL
);
CREATE INDEX login_failures_addr_at ON login_failures (addr, at);
CREATE INDEX login_failures_at ON login_failures (at);
