-- Mail to customers and staff: the durable outbox, response templates, the
-- customers' one-time links, satisfaction answers, and do-not-contact.
ALTER TABLE customers ADD COLUMN do_not_contact BOOLEAN NOT NULL DEFAULT 0;

CREATE TABLE outbox (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    message_id       TEXT NOT NULL UNIQUE,
    kind             TEXT NOT NULL,
    case_id          INTEGER REFERENCES cases (id),
    to_addr          TEXT NOT NULL,
    subject          TEXT NOT NULL,
    body_text        TEXT NOT NULL,
    body_html        TEXT,
    created_at       TIMESTAMP NOT NULL,
    attempts         INTEGER NOT NULL DEFAULT 0,
    next_attempt_at  TIMESTAMP,
    last_error       TEXT,
    sent_at          TIMESTAMP,
    failed_at        TIMESTAMP,
    claimed_until    TIMESTAMP,
    claim            TEXT
);
CREATE INDEX outbox_due ON outbox (next_attempt_at);

CREATE TABLE mail_templates (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    name        TEXT NOT NULL,
    purpose     TEXT NOT NULL,
    lang        TEXT NOT NULL,
    subject     TEXT NOT NULL,
    body        TEXT NOT NULL,
    updated_at  TIMESTAMP NOT NULL,
    updated_by  INTEGER REFERENCES users (id),
    UNIQUE (name, lang)
);

CREATE TABLE customer_tokens (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    token_hash  TEXT NOT NULL UNIQUE,
    purpose     TEXT NOT NULL,
    case_id     INTEGER NOT NULL REFERENCES cases (id),
    created_at  TIMESTAMP NOT NULL,
    expires_at  TIMESTAMP NOT NULL,
    used_at     TIMESTAMP
);
CREATE INDEX customer_tokens_case ON customer_tokens (case_id);

CREATE TABLE satisfaction (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    case_id      INTEGER NOT NULL REFERENCES cases (id),
    score        INTEGER NOT NULL,
    comment      TEXT,
    agent_id     INTEGER REFERENCES users (id),
    queue_id     INTEGER NOT NULL REFERENCES queues (id),
    rule_code    TEXT NOT NULL,
    answered_at  TIMESTAMP NOT NULL
);
CREATE INDEX satisfaction_case ON satisfaction (case_id);
CREATE INDEX satisfaction_agent ON satisfaction (agent_id);

INSERT INTO mail_templates (name, purpose, lang, subject, body, updated_at) VALUES
('verification', 'verification', 'en', 'Please confirm a payment ({case_ref})',
'Dear {customer_name},

To protect your account we stopped a payment of {amount}. Please tell us whether you made it:

{link}

The link works once and expires soon. We will never ask for your password or codes.

{agent_name}
Customer protection', CURRENT_TIMESTAMP),
('verification', 'verification', 'zh-CN', '请确认一笔交易（{case_ref}）',
'{customer_name}，您好：

为保护您的账户安全，我们暂停了一笔金额为 {amount} 的交易。请告诉我们这是否是您本人的操作：

{link}

该链接仅可使用一次，并将很快失效。我们绝不会向您索取密码或验证码。

{agent_name}
客户保护中心', CURRENT_TIMESTAMP),
('survey', 'survey', 'en', 'How did we do? ({case_ref})',
'Dear {customer_name},

Your case {case_ref} has been resolved. Would you tell us how we did? It takes a few seconds:

{link}

Thank you,
{agent_name}', CURRENT_TIMESTAMP),
('survey', 'survey', 'zh-CN', '您对我们的服务满意吗？（{case_ref}）',
'{customer_name}，您好：

您的案件 {case_ref} 已处理完毕。能否花几秒钟告诉我们您对这次服务的评价？

{link}

谢谢！
{agent_name}', CURRENT_TIMESTAMP);
