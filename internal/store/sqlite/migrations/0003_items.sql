-- Server state that is not FHIR (store.Item): user accounts, sessions,
-- OAuth clients, codes and tokens, break-the-glass grants.
CREATE TABLE items (
    kind    TEXT    NOT NULL,
    key     TEXT    NOT NULL,
    owner   TEXT    NOT NULL DEFAULT '',
    value   BLOB    NOT NULL,
    expires INTEGER NOT NULL DEFAULT 0, -- Unix microseconds; 0: never
    version INTEGER NOT NULL,
    PRIMARY KEY (kind, key)
) WITHOUT ROWID;
CREATE INDEX items_owner ON items (kind, owner, key) WHERE owner <> '';
CREATE INDEX items_expires ON items (expires) WHERE expires > 0;
