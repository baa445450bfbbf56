-- An alarm the SLA watch recorded without acting on it: a warning passed over
-- because the case was already further behind (its breach due, or a later
-- threshold) when the watch came to it.
ALTER TABLE case_alarms ADD COLUMN superseded BOOLEAN NOT NULL DEFAULT FALSE;
