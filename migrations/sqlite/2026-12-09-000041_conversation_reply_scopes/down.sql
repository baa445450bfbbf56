UPDATE mail_template_versions SET states = ''
WHERE name IN ('reply_more_information', 'reply_resolved') AND version = 1;
DELETE FROM mail_template_scopes WHERE name IN ('reply_more_information', 'reply_resolved');
