-- The outcomes report counts the cases opened in each day of its period per rule.
-- Grouping a day's range of `case_facts_opened` by rule made SQLite sort the rows
-- in a temporary B-tree; this index holds them by rule, then opening, so each
-- rule's day is one range counted from the index alone (every filter's column
-- included), and the rules are found by a seek each.
CREATE INDEX case_facts_rule_opened ON case_facts (
    rule_code, opened_at, alert_count, queue_id, agent_id, priority
);
