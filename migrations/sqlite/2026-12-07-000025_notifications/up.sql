-- Notifications people read: one row per user, kind and case, updated in place (its
-- `open_key` is unique per user); supervisors' per-case alarms collected into one
-- group row per kind and queue (the cases behind it in notification_cases); each
-- user's choice of in-app and e-mail per kind; e-mails waiting for a digest.
ALTER TABLE notifications ADD COLUMN first_at TIMESTAMP NOT NULL DEFAULT '1970-01-01 00:00:00';
ALTER TABLE notifications ADD COLUMN occurrences INTEGER NOT NULL DEFAULT 1;
ALTER TABLE notifications ADD COLUMN grouped BOOLEAN NOT NULL DEFAULT 0;
ALTER TABLE notifications ADD COLUMN open_key TEXT;

-- What the new rules would have made of the rows already there: the newest row of
-- each user, kind and case stays, counting the others, which go.
CREATE INDEX notifications_same ON notifications (user_id, kind, case_id);
UPDATE notifications SET
    occurrences = (SELECT COUNT(*) FROM notifications n WHERE n.user_id = notifications.user_id
                   AND n.kind = notifications.kind AND n.case_id = notifications.case_id),
    first_at = (SELECT MIN(n.at) FROM notifications n WHERE n.user_id = notifications.user_id
                AND n.kind = notifications.kind AND n.case_id = notifications.case_id)
WHERE case_id IS NOT NULL;
DELETE FROM notifications WHERE case_id IS NOT NULL AND id < (
    SELECT MAX(n.id) FROM notifications n WHERE n.user_id = notifications.user_id
    AND n.kind = notifications.kind AND n.case_id = notifications.case_id);
DROP INDEX notifications_same;
UPDATE notifications SET first_at = at WHERE case_id IS NULL;
UPDATE notifications SET open_key = kind || ':case:' || case_id WHERE case_id IS NOT NULL;

-- The row a new notice of the same kind and case (or group) updates; NULL once a
-- group is closed (read, or its window over), so the next notice starts a new one.
CREATE UNIQUE INDEX notifications_open ON notifications (user_id, open_key);
CREATE INDEX notifications_recent ON notifications (user_id, at);

-- The cases behind a group notification, each with its latest notice.
CREATE TABLE notification_cases (
    notification_id INTEGER NOT NULL REFERENCES notifications (id) ON DELETE CASCADE,
    case_id         INTEGER NOT NULL REFERENCES cases (id),
    at              TIMESTAMP NOT NULL,
    data            TEXT NOT NULL DEFAULT '{}',
    PRIMARY KEY (notification_id, case_id)
);

-- A user's choice for one kind; without a row the role's default applies.
CREATE TABLE notification_prefs (
    user_id INTEGER NOT NULL REFERENCES users (id),
    kind    TEXT NOT NULL,
    in_app  BOOLEAN NOT NULL,
    -- off | immediately | hourly | daily
    email   TEXT NOT NULL,
    PRIMARY KEY (user_id, kind)
);

-- Notices waiting for the user's e-mail digest; the digest job takes (deletes) the
-- due ones of a user and queues one e-mail listing them.
CREATE TABLE notification_digests (
    id      INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id INTEGER NOT NULL REFERENCES users (id),
    at      TIMESTAMP NOT NULL,
    kind    TEXT NOT NULL,
    case_id INTEGER REFERENCES cases (id),
    data    TEXT NOT NULL DEFAULT '{}',
    due_at  TIMESTAMP NOT NULL
);
CREATE INDEX notification_digests_due ON notification_digests (due_at, user_id);
