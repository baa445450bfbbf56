ALTER TABLE rules DROP COLUMN release_on_confirm_up_to;
ALTER TABLE rules DROP COLUMN verify_by_email;
