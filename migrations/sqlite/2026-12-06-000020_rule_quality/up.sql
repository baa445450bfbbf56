-- The rule quality report reads one rule's alerts of a period, and the facts of one
-- rule's cases resolved in it: each a range scan of that rule alone. The alerts'
-- index carries the columns the report reads (case, amount, currency), so the scan
-- never leaves it for the table.
CREATE INDEX alerts_rule_received ON alerts (rule_code, received_at, case_id, amount, currency);
CREATE INDEX case_facts_rule_resolved ON case_facts (rule_code, resolved_at, case_id);
