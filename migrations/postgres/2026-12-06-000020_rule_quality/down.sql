DROP INDEX case_facts_rule_resolved;
DROP INDEX alerts_rule_received;
