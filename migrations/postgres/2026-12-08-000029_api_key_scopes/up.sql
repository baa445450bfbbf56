-- API keys with scopes, an expiry and a rate limit. A key's scopes are the names of
-- what it may call, comma-separated (alerts:write, cases:read, labels:read,
-- webhooks:manage); a key made from now on names its own, and one without is refused
-- everything, so the column's default is none. Keys made before scopes existed could
-- call every route, and keep doing so: they are given every scope here.
ALTER TABLE api_keys ADD COLUMN scopes TEXT NOT NULL DEFAULT '';
UPDATE api_keys SET scopes = 'alerts:write,cases:read,labels:read,webhooks:manage';
-- When the key stops working (NULL: never).
ALTER TABLE api_keys ADD COLUMN expires_at TIMESTAMP;
-- Requests a minute the key may make, per instance (a token bucket in memory); keys
-- made before get the default of new keys, which no intake reaches.
ALTER TABLE api_keys ADD COLUMN rate_limit INTEGER NOT NULL DEFAULT 300000;
