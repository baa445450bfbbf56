-- Assignment and escalation: agents as the router sees them (queues, skills, capacity,
-- presence, shift), the load each carries, alarms that fire once, notifications.
ALTER TABLE users ADD COLUMN capacity INTEGER NOT NULL DEFAULT 5;
ALTER TABLE users ADD COLUMN current_load INTEGER NOT NULL DEFAULT 0;
ALTER TABLE users ADD COLUMN skills TEXT NOT NULL DEFAULT '[]';
ALTER TABLE users ADD COLUMN presence TEXT NOT NULL DEFAULT 'offline';
ALTER TABLE users ADD COLUMN presence_since TIMESTAMP;
ALTER TABLE users ADD COLUMN last_active_at TIMESTAMP;
ALTER TABLE users ADD COLUMN last_assigned_at TIMESTAMP;
ALTER TABLE users ADD COLUMN shift_calendar_id INTEGER REFERENCES calendars (id);
ALTER TABLE users ADD COLUMN auto_assign BOOLEAN NOT NULL DEFAULT 1;

CREATE TABLE queue_members (
    queue_id INTEGER NOT NULL REFERENCES queues (id) ON DELETE CASCADE,
    user_id  INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    PRIMARY KEY (queue_id, user_id)
);
CREATE INDEX queue_members_user ON queue_members (user_id);

ALTER TABLE queues ADD COLUMN escalation_queue_id INTEGER REFERENCES queues (id);

ALTER TABLE cases ADD COLUMN weight INTEGER NOT NULL DEFAULT 1;
ALTER TABLE cases ADD COLUMN assigned_at TIMESTAMP;
ALTER TABLE cases ADD COLUMN started_at TIMESTAMP;
-- The nearest open deadline (first response until answered, then resolution): the
-- order of the waiting line.
ALTER TABLE cases ADD COLUMN next_due TIMESTAMP;
-- When the escalation watch must next look at the case.
ALTER TABLE cases ADD COLUMN next_alarm_at TIMESTAMP;
UPDATE cases SET next_due = first_response_due, next_alarm_at = opened_at;
CREATE INDEX cases_waiting ON cases (queue_id, status, next_due);
CREATE INDEX cases_assignee ON cases (assignee_id, status);
CREATE INDEX cases_alarm ON cases (next_alarm_at);

-- Each alarm of a case fires once, whatever the number of instances watching.
CREATE TABLE case_alarms (
    case_id  INTEGER NOT NULL REFERENCES cases (id),
    kind     TEXT NOT NULL,
    fired_at TIMESTAMP NOT NULL,
    PRIMARY KEY (case_id, kind)
);

CREATE TABLE notifications (
    id       INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id  INTEGER NOT NULL REFERENCES users (id),
    at       TIMESTAMP NOT NULL,
    kind     TEXT NOT NULL,
    case_id  INTEGER REFERENCES cases (id),
    data     TEXT NOT NULL DEFAULT '{}',
    read_at  TIMESTAMP
);
CREATE INDEX notifications_user ON notifications (user_id, read_at, id);
