-- The regulator's clock: a case closed as escalated to AML must be reported within
-- working days of a named calendar. One deadline per case (a case escalated again
-- keeps its first); warned and breached once each; stopped when the report is filed.
CREATE TABLE aml_reports (
    case_id     BIGINT PRIMARY KEY REFERENCES cases (id),
    started_at  TIMESTAMP NOT NULL,
    warn_at     TIMESTAMP NOT NULL,
    due_at      TIMESTAMP NOT NULL,
    warned_at   TIMESTAMP,
    breached_at TIMESTAMP,
    filed_at    TIMESTAMP,
    filed_by    BIGINT REFERENCES users (id),
    -- the regulator's reference of the filed report
    reference   TEXT
);
CREATE INDEX aml_reports_open ON aml_reports (due_at) WHERE filed_at IS NULL;
