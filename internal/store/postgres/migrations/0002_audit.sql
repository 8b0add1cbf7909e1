-- The audit trail (docs/AUDIT.md): an append-only hash chain.
-- entry holds the canonical bytes that were hashed; the other columns copy
-- fields of it for reports, and audit verify checks they still agree.
CREATE TABLE audit_log (
    seq         BIGINT PRIMARY KEY, -- 1, 2, 3... without gaps
    recorded    BIGINT NOT NULL,    -- Unix microseconds
    action      TEXT COLLATE "C" NOT NULL,
    interaction TEXT COLLATE "C" NOT NULL,
    outcome     INTEGER NOT NULL,
    username    TEXT COLLATE "C" NOT NULL,
    user_id     TEXT COLLATE "C" NOT NULL,
    fhir_user   TEXT COLLATE "C" NOT NULL,
    prev_hash   BYTEA NOT NULL,
    hash        BYTEA NOT NULL,
    entry       BYTEA NOT NULL
);
CREATE INDEX audit_log_recorded ON audit_log (recorded);
CREATE INDEX audit_log_username ON audit_log (username, recorded);
CREATE INDEX audit_log_user_id ON audit_log (user_id, recorded);

-- The patients of each entry (reports by patient).
CREATE TABLE audit_patient (
    patient TEXT COLLATE "C" NOT NULL,
    seq     BIGINT NOT NULL,
    PRIMARY KEY (patient, seq)
);
CREATE INDEX audit_patient_seq ON audit_patient (seq);

-- The chain head: the last entry's number and hash. An append locks this
-- row (SELECT ... FOR UPDATE) at the end of its transaction, so concurrent
-- transactions chain one after the other without gaps.
CREATE TABLE audit_head (
    id   INTEGER PRIMARY KEY CHECK (id = 1),
    seq  BIGINT NOT NULL,
    hash BYTEA NOT NULL
);
INSERT INTO audit_head (id, seq, hash) VALUES (1, 0, decode(repeat('00', 32), 'hex'));

-- Defence in depth: the program never updates or deletes entries, and the
-- database refuses to (an owner or superuser can still disable the
-- triggers; the hash chain is what detects that).
CREATE FUNCTION audit_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'the audit trail is append-only: % on % refused', TG_OP, TG_TABLE_NAME
        USING ERRCODE = 'insufficient_privilege';
END $$;
CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION audit_append_only();
CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION audit_append_only();
CREATE TRIGGER audit_patient_append_only BEFORE UPDATE OR DELETE ON audit_patient
    FOR EACH ROW EXECUTE FUNCTION audit_append_only();
CREATE TRIGGER audit_patient_no_truncate BEFORE TRUNCATE ON audit_patient
    FOR EACH STATEMENT EXECUTE FUNCTION audit_append_only();
