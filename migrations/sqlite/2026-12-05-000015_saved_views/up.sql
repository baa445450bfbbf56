-- Saved views: a queue list's filters kept under a name, private to their owner or
-- shared with the whole desk. `query` holds the list's query string as the list's
-- own parser accepted it (view, queue, rule, priority, status, limit; no cursor).
CREATE TABLE saved_views (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    owner_id   INTEGER NOT NULL REFERENCES users (id),
    name       TEXT NOT NULL,
    shared     BOOLEAN NOT NULL DEFAULT 0,
    query      TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    UNIQUE (owner_id, name)
);
-- The home page reads the user's own views and the shared ones.
CREATE INDEX saved_views_shared ON saved_views (shared, name) WHERE shared;
