-- The period reports read a month of facts in one range scan. These indexes hold
-- every column the reports read, in period order, so the scan never leaves the
-- index for the table (a lookup per case otherwise). The case id stays second, so
-- the drill-down's keyset pages (period order, then case) use them too.
DROP INDEX case_facts_resolved;
DROP INDEX case_facts_opened;
CREATE INDEX case_facts_resolved ON case_facts (
    resolved_at, case_id, queue_id, agent_id, rule_code, priority,
    first_response_secs, resolution_secs, first_response_met, resolution_met,
    breach_unassigned_secs, breach_agent_secs, breach_customer_secs,
    disposition, customer_confirmed, amount_protected, currency, reopen_count,
    calls, calls_reached, emails, emails_answered, survey_sent, survey_score
);
CREATE INDEX case_facts_opened ON case_facts (
    opened_at, case_id, queue_id, agent_id, rule_code, priority, alert_count
);
