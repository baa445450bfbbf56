DROP INDEX case_facts_resolved;
DROP INDEX case_facts_opened;
CREATE INDEX case_facts_resolved ON case_facts (resolved_at, case_id);
CREATE INDEX case_facts_opened ON case_facts (opened_at, case_id);
