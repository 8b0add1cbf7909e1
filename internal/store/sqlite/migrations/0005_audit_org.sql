-- The organization each entry's agent acted for (reports limited to one
-- organization: docs/ACCESS.md, "The audit trail"). One row per entry that
-- names one; the value is spelled as in the entry's canonical bytes, so
-- entries recorded before this table are filled from their own bytes, and
-- audit verify checks every row against the hashed entry.
CREATE TABLE audit_org (
    seq          INTEGER PRIMARY KEY,
    organization TEXT NOT NULL
);
CREATE INDEX audit_org_organization ON audit_org (organization, seq);

-- Values never hold a line feed, so "\norganization " starts that field and
-- no other.
INSERT INTO audit_org (seq, organization)
SELECT seq, substr(rest, 1, instr(rest, char(10)) - 1)
FROM (SELECT seq, substr(t, instr(t, char(10) || 'organization ') + 14) AS rest
      FROM (SELECT seq, CAST(entry AS TEXT) AS t FROM audit_log)
      WHERE instr(t, char(10) || 'organization ') > 0);

CREATE TRIGGER audit_org_no_update BEFORE UPDATE ON audit_org
BEGIN SELECT RAISE(ABORT, 'the audit trail is append-only'); END;
CREATE TRIGGER audit_org_no_delete BEFORE DELETE ON audit_org
BEGIN SELECT RAISE(ABORT, 'the audit trail is append-only'); END;
