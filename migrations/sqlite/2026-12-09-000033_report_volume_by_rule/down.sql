DROP INDEX case_facts_rule_opened;
