DROP TABLE satisfaction;
DROP TABLE customer_tokens;
DROP TABLE mail_templates;
DROP TABLE outbox;
ALTER TABLE customers DROP COLUMN do_not_contact;
