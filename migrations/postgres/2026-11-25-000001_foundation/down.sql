DROP TABLE audit_events;
DROP FUNCTION audit_events_append_only();
DROP TABLE api_keys;
DROP TABLE sessions;
DROP TABLE users;
DROP TABLE app_settings;
