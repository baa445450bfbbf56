ALTER TABLE case_alarms DROP COLUMN superseded;
