-- audit_log_user_id served no statement: reports by user match username,
-- user_id or fhir_user in one OR, which cannot use an index while
-- fhir_user has none, so they scan audit_log in sequence order either
-- way. The index cost every audit transaction one more page written to
-- the WAL (docs/PERFORMANCE.md, "Read by id: where the remaining time
-- goes"). audit_log_username stays: reports sorted by user read it in
-- order.
DROP INDEX IF EXISTS audit_log_user_id;
