ALTER TABLE alerts DROP COLUMN suppressed_by;
ALTER TABLE customers DROP COLUMN active_snoozes;
DROP TABLE snoozes;
