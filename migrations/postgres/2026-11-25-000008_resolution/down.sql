DROP TABLE resolutions;
ALTER TABLE cases DROP COLUMN reopen_count;
ALTER TABLE cases DROP COLUMN resolved_by;
ALTER TABLE cases DROP COLUMN sla_started_at;
