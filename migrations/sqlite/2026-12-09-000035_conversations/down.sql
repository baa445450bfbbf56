DELETE FROM mail_templates WHERE purpose IN ('reply', 'secure_message');
ALTER TABLE outbox DROP COLUMN in_reply_to;
ALTER TABLE outbox DROP COLUMN reply_to;
DROP TABLE message_attachments;
DROP TABLE messages;
