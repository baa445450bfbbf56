DROP STATISTICS IF EXISTS case_facts_outcome_groups;
