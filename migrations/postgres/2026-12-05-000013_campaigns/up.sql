-- Campaigns: a campaign case (one with a row in campaigns) holds the cases of
-- customers tied by one identifier as its children (campaign_id). The identifiers it
-- stands for are in campaign_links; when each customer was last seen with an
-- identifier tells whether enough of them came within a campaign rule's window.
ALTER TABLE cases ADD COLUMN campaign_id BIGINT REFERENCES cases (id);
CREATE INDEX cases_campaign ON cases (campaign_id) WHERE campaign_id IS NOT NULL;

ALTER TABLE customer_identifiers ADD COLUMN last_seen_at TIMESTAMP;

CREATE TABLE campaigns (
    case_id     BIGINT PRIMARY KEY REFERENCES cases (id),
    -- the campaign rule that opened it, or none when a supervisor made it
    rule_name   TEXT,
    opened_by   BIGINT REFERENCES users (id),
    -- a campaign merged into another points at it
    merged_into BIGINT REFERENCES cases (id)
);

CREATE TABLE campaign_links (
    campaign_id BIGINT NOT NULL REFERENCES cases (id),
    kind        TEXT NOT NULL,
    value_hash  TEXT NOT NULL,
    masked      TEXT NOT NULL,
    PRIMARY KEY (campaign_id, value_hash)
);
CREATE INDEX campaign_links_value ON campaign_links (value_hash);
