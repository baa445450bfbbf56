-- A rule may verify by e-mail by itself as the alert arrives, and let a customer who
-- confirms "it was me" release amounts up to a limit (as the release thresholds are
-- written: "5000.00 CNY, 700.00 USD", or one bare amount).
ALTER TABLE rules ADD COLUMN verify_by_email BOOLEAN NOT NULL DEFAULT 0;
ALTER TABLE rules ADD COLUMN release_on_confirm_up_to TEXT;
