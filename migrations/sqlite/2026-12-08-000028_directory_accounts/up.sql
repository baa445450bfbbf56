-- Directory sign-in: where an account comes from ('local': its password is kept here;
-- 'directory': it signs in against the LDAP directory, which also gives its role) and,
-- for a directory account, the distinguished name it was last found under.
ALTER TABLE users ADD COLUMN source TEXT NOT NULL DEFAULT 'local';
ALTER TABLE users ADD COLUMN directory_dn TEXT;
