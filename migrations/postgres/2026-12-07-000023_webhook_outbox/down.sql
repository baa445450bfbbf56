DELETE FROM jobs WHERE name = 'webhook_outbox';
ALTER TABLE jobs RENAME TO report_jobs;
DROP TABLE webhook_outbox;
