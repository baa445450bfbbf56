DROP TABLE notification_digests;
DROP TABLE notification_prefs;
DROP TABLE notification_cases;
DROP INDEX notifications_recent;
DROP INDEX notifications_open;
ALTER TABLE notifications DROP COLUMN open_key;
ALTER TABLE notifications DROP COLUMN grouped;
ALTER TABLE notifications DROP COLUMN occurrences;
ALTER TABLE notifications DROP COLUMN first_at;
