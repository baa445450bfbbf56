-- A conversation per case: every message to and from the customer (by e-mail, or
-- as a secure message read behind a link), with the files the customer sent; the
-- outbox's e-mails carry a reply address and, answering the customer, the
-- Message-ID they answer; reply templates and the secure message's notice.
CREATE TABLE messages (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    case_id      INTEGER NOT NULL REFERENCES cases (id),
    -- out (the desk to the customer) | in (the customer to the desk)
    direction    TEXT NOT NULL,
    -- email | portal
    channel      TEXT NOT NULL,
    body         TEXT NOT NULL,
    -- the staff member who wrote it (none for the customer's)
    author_id    INTEGER REFERENCES users (id),
    -- the reply template it was written from, if any
    template     TEXT,
    -- the e-mail's Message-ID: the outbox's for one the desk sent, the customer's
    -- for a reply that came by e-mail
    email_message_id TEXT,
    outbox_id    INTEGER REFERENCES outbox (id),
    created_at   TIMESTAMP NOT NULL
);
CREATE INDEX messages_case ON messages (case_id, id);
CREATE INDEX messages_email_message_id ON messages (email_message_id);

CREATE TABLE message_attachments (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    message_id    INTEGER NOT NULL REFERENCES messages (id),
    file_name     TEXT NOT NULL,
    -- from the bytes: image/png | image/jpeg | application/pdf
    content_type  TEXT NOT NULL,
    size          INTEGER NOT NULL,
    sha256        TEXT NOT NULL,
    bytes         BLOB NOT NULL
);
CREATE INDEX message_attachments_message ON message_attachments (message_id);

ALTER TABLE outbox ADD COLUMN reply_to TEXT;
ALTER TABLE outbox ADD COLUMN in_reply_to TEXT;

INSERT INTO mail_templates (name, purpose, lang, subject, body, updated_at) VALUES
('reply_more_information', 'reply', 'en', 'About your case {case_ref}',
'Dear {customer_name},

Thank you for your patience. To finish checking the payment of {amount}, we need a little more information from you: please tell us what the payment was for, and send us a photo of the invoice or receipt if you have one.

We will never ask for your password, PIN or one-time codes.

{agent_name}
Customer protection', CURRENT_TIMESTAMP),
('reply_more_information', 'reply', 'zh-CN', '关于您的案件 {case_ref}',
'{customer_name}，您好：

感谢您的耐心等待。为完成对金额为 {amount} 的交易的核查，我们还需要您提供一些信息：请告诉我们这笔交易的用途，如有发票或收据，请拍照发给我们。

我们绝不会向您索取密码、支付密码或验证码。

{agent_name}
客户保护中心', CURRENT_TIMESTAMP),
('reply_resolved', 'reply', 'en', 'Your case {case_ref}',
'Dear {customer_name},

Thank you for your answer. We have checked the payment and your account is back to normal. If anything looks wrong, reply to this message.

{agent_name}
Customer protection', CURRENT_TIMESTAMP),
('reply_resolved', 'reply', 'zh-CN', '您的案件 {case_ref}',
'{customer_name}，您好：

感谢您的回复。我们已核查这笔交易，您的账户已恢复正常。如有任何异常，请直接回复本消息。

{agent_name}
客户保护中心', CURRENT_TIMESTAMP),
('secure_message', 'secure_message', 'en', 'A secure message about your case {case_ref}',
'Dear {customer_name},

A secure message about your case {case_ref} is waiting for you. Read it and answer here:

{link}

For your safety the message itself is not in this e-mail. We will never ask for your password, PIN or one-time codes.

Customer protection', CURRENT_TIMESTAMP),
('secure_message', 'secure_message', 'zh-CN', '关于您的案件 {case_ref} 的安全消息',
'{customer_name}，您好：

关于您的案件 {case_ref}，有一条安全消息等待您查看。请在此阅读并回复：

{link}

为保障您的安全，消息内容不包含在本邮件中。我们绝不会向您索取密码、支付密码或验证码。

客户保护中心', CURRENT_TIMESTAMP);
