DELETE FROM mail_templates WHERE name IN
    ('reply_case_update', 'reply_awaiting_answer', 'reply_payment_released', 'reply_account_secured');
DROP TABLE security_tips;
DROP TABLE mail_template_versions;
DROP TABLE mail_template_scopes;
