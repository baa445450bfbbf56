-- The library of replies: templates scoped by rule and case state, every version
-- of every template, reply templates to start from, and the security tips that go
-- with what the desk sends to customers. Seeds go in only where missing, so that a
-- template of the same name seeded elsewhere is left as it is.
CREATE TABLE mail_template_scopes (
    name        TEXT PRIMARY KEY,
    -- rule codes, comma-separated; empty for any rule
    rule_codes  TEXT NOT NULL DEFAULT '',
    -- statuses, `paused` and dispositions, comma-separated; empty for any state
    states      TEXT NOT NULL DEFAULT ''
);

CREATE TABLE mail_template_versions (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    name           TEXT NOT NULL,
    version        INTEGER NOT NULL,
    purpose        TEXT NOT NULL,
    rule_codes     TEXT NOT NULL,
    states         TEXT NOT NULL,
    subject_en     TEXT NOT NULL,
    body_en        TEXT NOT NULL,
    subject_zh     TEXT NOT NULL,
    body_zh        TEXT NOT NULL,
    created_at     TIMESTAMP NOT NULL,
    created_by     INTEGER REFERENCES users (id),
    -- the version this one restored
    restored_from  INTEGER,
    UNIQUE (name, version)
);

CREATE TABLE security_tips (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    -- the supervisors' name for it; customers see the text only
    label       TEXT NOT NULL,
    text_en     TEXT NOT NULL,
    text_zh     TEXT NOT NULL,
    -- rule codes, comma-separated; empty for every rule
    rule_codes  TEXT NOT NULL DEFAULT '',
    active      BOOLEAN NOT NULL DEFAULT 1,
    position    INTEGER NOT NULL,
    updated_at  TIMESTAMP NOT NULL,
    updated_by  INTEGER REFERENCES users (id)
);

-- Reply templates to start from, in both languages.
INSERT INTO mail_templates (name, purpose, lang, subject, body, updated_at)
SELECT 'reply_case_update', 'reply', 'en', 'About your case {case_ref}',
'Dear {customer_name},

We are looking into the payment of {amount} from account {masked_account} that we stopped to protect you. We will tell you the outcome by {deadline}.

{agent_name}
Customer protection', CURRENT_TIMESTAMP
WHERE NOT EXISTS (SELECT 1 FROM mail_templates WHERE name = 'reply_case_update' AND lang = 'en');
INSERT INTO mail_templates (name, purpose, lang, subject, body, updated_at)
SELECT 'reply_case_update', 'reply', 'zh-CN', '关于您的案件 {case_ref}',
'{customer_name}，您好：

为保护您的资金安全，我们暂停了账户 {masked_account} 的一笔金额为 {amount} 的交易，目前正在核实。我们将在 {deadline} 前告知您处理结果。

{agent_name}
客户保护中心', CURRENT_TIMESTAMP
WHERE NOT EXISTS (SELECT 1 FROM mail_templates WHERE name = 'reply_case_update' AND lang = 'zh-CN');
INSERT INTO mail_template_scopes (name, rule_codes, states)
SELECT 'reply_case_update', '', ''
WHERE NOT EXISTS (SELECT 1 FROM mail_template_scopes WHERE name = 'reply_case_update');
INSERT INTO mail_templates (name, purpose, lang, subject, body, updated_at)
SELECT 'reply_awaiting_answer', 'reply', 'en', 'We are waiting for your answer ({case_ref})',
'Dear {customer_name},

We asked you about the payment of {amount} from account {masked_account} and have not heard back yet. The payment stays on hold until you answer; please reply by {deadline}.

{agent_name}
Customer protection', CURRENT_TIMESTAMP
WHERE NOT EXISTS (SELECT 1 FROM mail_templates WHERE name = 'reply_awaiting_answer' AND lang = 'en');
INSERT INTO mail_templates (name, purpose, lang, subject, body, updated_at)
SELECT 'reply_awaiting_answer', 'reply', 'zh-CN', '我们正在等待您的答复（{case_ref}）',
'{customer_name}，您好：

我们就账户 {masked_account} 的一笔金额为 {amount} 的交易向您发出了确认请求，但尚未收到您的答复。在您答复之前，该笔交易将继续暂停，请于 {deadline} 前答复。

{agent_name}
客户保护中心', CURRENT_TIMESTAMP
WHERE NOT EXISTS (SELECT 1 FROM mail_templates WHERE name = 'reply_awaiting_answer' AND lang = 'zh-CN');
INSERT INTO mail_template_scopes (name, rule_codes, states)
SELECT 'reply_awaiting_answer', '', 'paused'
WHERE NOT EXISTS (SELECT 1 FROM mail_template_scopes WHERE name = 'reply_awaiting_answer');
INSERT INTO mail_templates (name, purpose, lang, subject, body, updated_at)
SELECT 'reply_payment_released', 'reply', 'en', 'Your payment has been released ({case_ref})',
'Dear {customer_name},

Thank you for confirming. The payment of {amount} from account {masked_account} has been released. We are sorry for the delay: our checks are there to keep your money safe.

{agent_name}
Customer protection', CURRENT_TIMESTAMP
WHERE NOT EXISTS (SELECT 1 FROM mail_templates WHERE name = 'reply_payment_released' AND lang = 'en');
INSERT INTO mail_templates (name, purpose, lang, subject, body, updated_at)
SELECT 'reply_payment_released', 'reply', 'zh-CN', '您的交易已放行（{case_ref}）',
'{customer_name}，您好：

感谢您的确认。账户 {masked_account} 的一笔金额为 {amount} 的交易已放行。给您带来不便，敬请谅解；我们的核查是为了保护您的资金安全。

{agent_name}
客户保护中心', CURRENT_TIMESTAMP
WHERE NOT EXISTS (SELECT 1 FROM mail_templates WHERE name = 'reply_payment_released' AND lang = 'zh-CN');
INSERT INTO mail_template_scopes (name, rule_codes, states)
SELECT 'reply_payment_released', '', 'false_positive'
WHERE NOT EXISTS (SELECT 1 FROM mail_template_scopes WHERE name = 'reply_payment_released');
INSERT INTO mail_templates (name, purpose, lang, subject, body, updated_at)
SELECT 'reply_account_secured', 'reply', 'en', 'We have secured your account ({case_ref})',
'Dear {customer_name},

You told us you did not make the payment of {amount} from account {masked_account}. We have stopped it and secured your account. If you see anything else you do not recognise, call us on the number on your card.

{agent_name}
Customer protection', CURRENT_TIMESTAMP
WHERE NOT EXISTS (SELECT 1 FROM mail_templates WHERE name = 'reply_account_secured' AND lang = 'en');
INSERT INTO mail_templates (name, purpose, lang, subject, body, updated_at)
SELECT 'reply_account_secured', 'reply', 'zh-CN', '我们已保护您的账户（{case_ref}）',
'{customer_name}，您好：

您告知我们，账户 {masked_account} 的一笔金额为 {amount} 的交易并非您本人操作。我们已拦截该交易，并对您的账户采取了保护措施。如发现其他不明交易，请拨打您银行卡背面的客服电话与我们联系。

{agent_name}
客户保护中心', CURRENT_TIMESTAMP
WHERE NOT EXISTS (SELECT 1 FROM mail_templates WHERE name = 'reply_account_secured' AND lang = 'zh-CN');
INSERT INTO mail_template_scopes (name, rule_codes, states)
SELECT 'reply_account_secured', '', 'confirmed_fraud'
WHERE NOT EXISTS (SELECT 1 FROM mail_template_scopes WHERE name = 'reply_account_secured');

-- Version 1 of every template written in both languages.
INSERT INTO mail_template_versions
    (name, version, purpose, rule_codes, states, subject_en, body_en, subject_zh, body_zh,
     created_at, created_by)
SELECT en.name, 1, en.purpose, COALESCE(s.rule_codes, ''), COALESCE(s.states, ''),
       en.subject, en.body, zh.subject, zh.body, en.updated_at, en.updated_by
FROM mail_templates en
JOIN mail_templates zh ON zh.name = en.name AND zh.lang = 'zh-CN'
LEFT JOIN mail_template_scopes s ON s.name = en.name
WHERE en.lang = 'en'
  AND NOT EXISTS (SELECT 1 FROM mail_template_versions v WHERE v.name = en.name);

-- Security tips for every rule.
INSERT INTO security_tips (label, text_en, text_zh, rule_codes, active, position, updated_at)
VALUES ('verification-codes', 'We will never ask you for a verification code, a one-time password or your password: not by phone, text message or e-mail. Never tell anyone.',
'我们绝不会通过电话、短信或邮件向您索取验证码、动态密码或登录密码。请勿告诉任何人。', '', 1, 1, CURRENT_TIMESTAMP);
INSERT INTO security_tips (label, text_en, text_zh, rule_codes, active, position, updated_at)
VALUES ('safe-account', 'We will never ask you to move money to a "safe account". Anyone who does is a fraudster.',
'我们绝不会要求您把资金转入所谓的“安全账户”。凡是这样要求的，都是诈骗。', '', 1, 2, CURRENT_TIMESTAMP);
INSERT INTO security_tips (label, text_en, text_zh, rule_codes, active, position, updated_at)
VALUES ('call-back', 'In doubt? Hang up and call us on the number on the back of your card.',
'如有疑问，请挂断电话，拨打您银行卡背面的客服电话与我们联系。', '', 1, 3, CURRENT_TIMESTAMP);
