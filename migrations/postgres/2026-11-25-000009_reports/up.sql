-- Reports: each queue's service-level target, one row of precomputed facts per case
-- (kept by a background job from the cases' timelines, never by the write paths),
-- and the job's watermark and lease.
ALTER TABLE queues ADD COLUMN service_level INTEGER;

CREATE TABLE case_facts (
    case_id                 BIGINT PRIMARY KEY NOT NULL REFERENCES cases (id),
    queue_id                BIGINT NOT NULL,
    rule_code               TEXT NOT NULL,
    -- the resolving agent, else the assigned one
    agent_id                BIGINT,
    priority                TEXT NOT NULL,
    opened_at               TIMESTAMP NOT NULL,
    resolved_at             TIMESTAMP,
    -- business seconds of the queue's calendar, net of counted customer pauses
    first_response_secs     BIGINT,
    resolution_secs         BIGINT,
    -- NULL while the clock still runs
    first_response_met      BOOLEAN,
    resolution_met          BOOLEAN,
    -- business seconds of the SLA round by who held the case
    unassigned_secs         BIGINT NOT NULL,
    agent_secs              BIGINT NOT NULL,
    customer_secs           BIGINT NOT NULL,
    -- the same, counted only after the first missed deadline
    breach_unassigned_secs  BIGINT NOT NULL,
    breach_agent_secs       BIGINT NOT NULL,
    breach_customer_secs    BIGINT NOT NULL,
    disposition             TEXT,
    customer_confirmed      BOOLEAN NOT NULL,
    amount_protected        TEXT,
    currency                TEXT,
    reopen_count            INTEGER NOT NULL,
    alert_count             INTEGER NOT NULL,
    calls                   INTEGER NOT NULL,
    calls_reached           INTEGER NOT NULL,
    emails                  INTEGER NOT NULL,
    emails_answered         INTEGER NOT NULL,
    survey_sent             BOOLEAN NOT NULL,
    survey_score            INTEGER,
    -- the case's updated_at these facts were computed from, and when
    case_updated_at         TIMESTAMP NOT NULL,
    computed_at             TIMESTAMP NOT NULL
);
CREATE INDEX case_facts_resolved ON case_facts (resolved_at, case_id);
CREATE INDEX case_facts_opened ON case_facts (opened_at, case_id);
CREATE INDEX case_facts_agent_resolved ON case_facts (agent_id, resolved_at, case_id);

CREATE TABLE report_jobs (
    name        TEXT PRIMARY KEY NOT NULL,
    watermark   TIMESTAMP,
    lease_owner TEXT,
    lease_until TIMESTAMP
);
INSERT INTO report_jobs (name) VALUES ('case_facts');
