-- The organization each entry's agent acted for (reports limited to one
-- organization: docs/ACCESS.md, "The audit trail"). One row per entry that
-- names one; the value is spelled as in the entry's canonical bytes, so
-- entries recorded before this table are filled from their own bytes, and
-- audit verify checks every row against the hashed entry.
CREATE TABLE audit_org (
    seq          BIGINT PRIMARY KEY,
    organization TEXT COLLATE "C" NOT NULL
);
CREATE INDEX audit_org_organization ON audit_org (organization, seq);

-- Appends wait on the chain head until the existing entries are filled in.
SELECT seq FROM audit_head WHERE id = 1 FOR UPDATE;

-- Values never hold a line feed, so "\norganization " starts that field and
-- no other.
INSERT INTO audit_org (seq, organization)
SELECT seq, m[1]
FROM (SELECT seq, regexp_match(convert_from(entry, 'UTF8'), E'\norganization ([^\n]*)') AS m FROM audit_log) x
WHERE m IS NOT NULL;

CREATE TRIGGER audit_org_append_only BEFORE UPDATE OR DELETE ON audit_org
    FOR EACH ROW EXECUTE FUNCTION audit_append_only();
CREATE TRIGGER audit_org_no_truncate BEFORE TRUNCATE ON audit_org
    FOR EACH STATEMENT EXECUTE FUNCTION audit_append_only();
