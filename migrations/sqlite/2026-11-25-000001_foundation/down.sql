DROP TABLE audit_events;
DROP TABLE api_keys;
DROP TABLE sessions;
DROP TABLE users;
DROP TABLE app_settings;
