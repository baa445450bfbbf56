-- Nothing on PostgreSQL: its plan for the outcomes report's volume per day and rule
-- (a hash aggregate over an index-only scan of `case_facts_opened`) needs no sort.
-- SQLite gains `case_facts_rule_opened` in the migration of this name.
SELECT 1;
