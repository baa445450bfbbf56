DROP TABLE campaign_links;
DROP TABLE campaigns;
ALTER TABLE customer_identifiers DROP COLUMN last_seen_at;
DROP INDEX cases_campaign;
ALTER TABLE cases DROP COLUMN campaign_id;
