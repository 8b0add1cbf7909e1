-- Server state that is not FHIR (store.Item): user accounts, sessions,
-- OAuth clients, codes and tokens, break-the-glass grants.
CREATE TABLE items (
    kind    TEXT COLLATE "C" NOT NULL,
    key     TEXT COLLATE "C" NOT NULL,
    owner   TEXT COLLATE "C" NOT NULL DEFAULT '',
    value   BYTEA  NOT NULL,
    expires BIGINT NOT NULL DEFAULT 0, -- Unix microseconds; 0: never
    version BIGINT NOT NULL,
    PRIMARY KEY (kind, key)
);
CREATE INDEX items_owner ON items (kind, owner, key) WHERE owner <> '';
CREATE INDEX items_expires ON items (expires) WHERE expires > 0;
