-- When an unassigned case began waiting for an agent: its opening, or the moment it
-- was given back, released, reopened or handed off. The "waiting too long" alarm
-- counts from here, and is armed again each time the case waits anew.
ALTER TABLE cases ADD COLUMN waiting_since TIMESTAMP;
UPDATE cases SET waiting_since = COALESCE(sla_started_at, opened_at)
WHERE assignee_id IS NULL AND resolved_at IS NULL;
