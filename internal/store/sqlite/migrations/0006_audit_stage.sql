-- The audit trail moves to its own file, audit.db, so that the commits of
-- read entries leave this file, and the page caches of its readers, alone
-- (docs/STORAGE.md, "Audit trail"). The store copies the chain there and
-- drops audit_log, audit_patient, audit_org and audit_head from this file
-- when it opens.

-- Entries of write transactions, staged in the transaction that writes
-- (so they commit with its writes or not at all) as canonical bytes without
-- their number, and appended to the chain in audit.db right after the
-- commit, or when the store next opens. Ids are never reused: audit.db's
-- head names the last one appended, and rows up to it are deleted later.
CREATE TABLE audit_stage (
    id    INTEGER PRIMARY KEY AUTOINCREMENT,
    entry BLOB NOT NULL
);

-- The chain's head as this file last saw it (when the trail moved here, at
-- writes, and when the store closes): audit.db must hold this entry with
-- this hash, or the store refuses to open, so a trail file deleted,
-- emptied or replaced by an older copy is found out.
CREATE TABLE audit_anchor (
    id   INTEGER PRIMARY KEY CHECK (id = 1),
    seq  INTEGER NOT NULL,
    hash BLOB    NOT NULL
);
INSERT INTO audit_anchor (id, seq, hash) VALUES (1, 0, zeroblob(32));
