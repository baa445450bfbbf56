DROP TABLE report_jobs;
DROP TABLE case_facts;
ALTER TABLE queues DROP COLUMN service_level;
