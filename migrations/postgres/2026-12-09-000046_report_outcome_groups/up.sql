-- The outcomes report groups a period's facts by rule, disposition, customer's
-- confirmation, currency, agent and queue (reports::store::outcomes_counted). The
-- planner multiplies the columns' distinct counts and expects ten times the groups
-- there are: it then sorts a month's rows on disk instead of hashing them. The
-- combination's own distinct count, gathered by ANALYZE, lets it hash.
CREATE STATISTICS case_facts_outcome_groups (ndistinct)
    ON rule_code, disposition, customer_confirmed, currency, agent_id, queue_id
    FROM case_facts;
-- Gathered now rather than at autovacuum's next pass over a large table.
ANALYZE case_facts;
