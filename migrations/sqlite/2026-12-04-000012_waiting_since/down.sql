ALTER TABLE cases DROP COLUMN waiting_since;
