-- The replies the conversations seeded (000035) get the scope their words are for:
-- asking for more information while a case is open, telling the outcome once it is
-- resolved. Only where no scope was set, so a supervisor's choice is kept.
INSERT INTO mail_template_scopes (name, rule_codes, states)
SELECT 'reply_more_information', '', 'new,assigned,in_progress,paused'
WHERE EXISTS (SELECT 1 FROM mail_templates WHERE name = 'reply_more_information')
  AND NOT EXISTS (SELECT 1 FROM mail_template_scopes WHERE name = 'reply_more_information');
INSERT INTO mail_template_scopes (name, rule_codes, states)
SELECT 'reply_resolved', '', 'false_positive,confirmed_fraud,unreachable'
WHERE EXISTS (SELECT 1 FROM mail_templates WHERE name = 'reply_resolved')
  AND NOT EXISTS (SELECT 1 FROM mail_template_scopes WHERE name = 'reply_resolved');
UPDATE mail_template_versions SET states = 'new,assigned,in_progress,paused'
WHERE name = 'reply_more_information' AND version = 1 AND states = ''
  AND NOT EXISTS (SELECT 1 FROM mail_template_versions v
                  WHERE v.name = 'reply_more_information' AND v.version > 1);
UPDATE mail_template_versions SET states = 'false_positive,confirmed_fraud,unreachable'
WHERE name = 'reply_resolved' AND version = 1 AND states = ''
  AND NOT EXISTS (SELECT 1 FROM mail_template_versions v
                  WHERE v.name = 'reply_resolved' AND v.version > 1);
