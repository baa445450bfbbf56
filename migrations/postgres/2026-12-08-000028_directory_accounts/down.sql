ALTER TABLE users DROP COLUMN directory_dn;
ALTER TABLE users DROP COLUMN source;
