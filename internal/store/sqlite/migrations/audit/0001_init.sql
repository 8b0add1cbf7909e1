-- The audit trail's own file, audit.db (docs/AUDIT.md, docs/STORAGE.md):
-- an append-only hash chain. entry holds the canonical bytes that were
-- hashed; the other columns copy fields of it for reports, and audit verify
-- checks they still agree.
CREATE TABLE audit_log (
    seq         INTEGER PRIMARY KEY, -- 1, 2, 3... without gaps
    recorded    INTEGER NOT NULL,    -- Unix microseconds
    action      TEXT    NOT NULL,
    interaction TEXT    NOT NULL,
    outcome     INTEGER NOT NULL,
    username    TEXT    NOT NULL,
    user_id     TEXT    NOT NULL,
    fhir_user   TEXT    NOT NULL,
    prev_hash   BLOB    NOT NULL,
    hash        BLOB    NOT NULL,
    entry       BLOB    NOT NULL
);
CREATE INDEX audit_log_recorded ON audit_log (recorded);
-- Reports sorted by user read it in order; reports by user match username,
-- user_id or fhir_user in one OR, which no index serves.
CREATE INDEX audit_log_username ON audit_log (username, recorded);

-- The patients of each entry (reports by patient).
CREATE TABLE audit_patient (
    patient TEXT    NOT NULL,
    seq     INTEGER NOT NULL,
    PRIMARY KEY (patient, seq)
) WITHOUT ROWID;
CREATE INDEX audit_patient_seq ON audit_patient (seq);

-- The organization each entry's agent acted for, spelled as in the entry's
-- canonical bytes (reports limited to one organization).
CREATE TABLE audit_org (
    seq          INTEGER PRIMARY KEY,
    organization TEXT NOT NULL
);
CREATE INDEX audit_org_organization ON audit_org (organization, seq);

-- The chain head: the last entry's number and hash, and staged, the last
-- entry of openchart.db's audit_stage appended to the chain (entries of
-- write transactions are staged there, in the transaction that writes, and
-- appended here right after it commits). The trail's single writer
-- serializes appends; verify compares the head with the last entry.
CREATE TABLE audit_head (
    id     INTEGER PRIMARY KEY CHECK (id = 1),
    seq    INTEGER NOT NULL,
    hash   BLOB    NOT NULL,
    staged INTEGER NOT NULL
);
INSERT INTO audit_head (id, seq, hash, staged) VALUES (1, 0, zeroblob(32), 0);

-- Defence in depth: the program never updates or deletes entries, and the
-- database refuses to.
CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN SELECT RAISE(ABORT, 'the audit trail is append-only'); END;
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
BEGIN SELECT RAISE(ABORT, 'the audit trail is append-only'); END;
CREATE TRIGGER audit_patient_no_update BEFORE UPDATE ON audit_patient
BEGIN SELECT RAISE(ABORT, 'the audit trail is append-only'); END;
CREATE TRIGGER audit_patient_no_delete BEFORE DELETE ON audit_patient
BEGIN SELECT RAISE(ABORT, 'the audit trail is append-only'); END;
CREATE TRIGGER audit_org_no_update BEFORE UPDATE ON audit_org
BEGIN SELECT RAISE(ABORT, 'the audit trail is append-only'); END;
CREATE TRIGGER audit_org_no_delete BEFORE DELETE ON audit_org
BEGIN SELECT RAISE(ABORT, 'the audit trail is append-only'); END;
