-- The current version of every resource, under a compact integer key (rkey)
-- that all other tables use: narrow index rows, cheap joins.
CREATE TABLE resources (
    rkey         INTEGER PRIMARY KEY,
    type         TEXT    NOT NULL,
    id           TEXT    NOT NULL,
    version      INTEGER NOT NULL,
    last_updated INTEGER NOT NULL, -- Unix microseconds
    deleted      INTEGER NOT NULL,
    UNIQUE (type, id)
);
CREATE INDEX resources_lastupd ON resources (type, last_updated);

-- Every version, canonical JSON served as stored.
CREATE TABLE versions (
    rkey         INTEGER NOT NULL REFERENCES resources (rkey),
    version      INTEGER NOT NULL,
    type         TEXT    NOT NULL,
    id           TEXT    NOT NULL,
    last_updated INTEGER NOT NULL,
    deleted      INTEGER NOT NULL,
    method       INTEGER NOT NULL,
    json         BLOB,
    UNIQUE (rkey, version)
);
CREATE INDEX versions_history ON versions (last_updated, rkey, version);
CREATE INDEX versions_type_history ON versions (type, last_updated, rkey, version);

-- Search index rows of current versions only. Every query index ends with
-- rkey so semi-joins and counts are answered from the index alone.
CREATE TABLE idx_token (
    rkey   INTEGER NOT NULL,
    type   TEXT    NOT NULL,
    param  TEXT    NOT NULL,
    system TEXT    NOT NULL,
    code   TEXT    NOT NULL,
    comp   INTEGER NOT NULL
);
CREATE INDEX idx_token_code ON idx_token (type, param, code, system, rkey);
CREATE INDEX idx_token_rkey ON idx_token (rkey);

CREATE TABLE idx_string (
    rkey  INTEGER NOT NULL,
    type  TEXT    NOT NULL,
    param TEXT    NOT NULL,
    norm  TEXT    NOT NULL,
    exact TEXT    NOT NULL,
    comp  INTEGER NOT NULL
);
CREATE INDEX idx_string_norm ON idx_string (type, param, norm, rkey);
CREATE INDEX idx_string_rkey ON idx_string (rkey);

CREATE TABLE idx_date (
    rkey  INTEGER NOT NULL,
    type  TEXT    NOT NULL,
    param TEXT    NOT NULL,
    low   INTEGER NOT NULL,
    high  INTEGER NOT NULL,
    comp  INTEGER NOT NULL
);
CREATE INDEX idx_date_low ON idx_date (type, param, low, high, rkey);
CREATE INDEX idx_date_high ON idx_date (type, param, high, rkey);
CREATE INDEX idx_date_rkey ON idx_date (rkey);

CREATE TABLE idx_number (
    rkey  INTEGER NOT NULL,
    type  TEXT    NOT NULL,
    param TEXT    NOT NULL,
    low   REAL    NOT NULL,
    high  REAL    NOT NULL,
    comp  INTEGER NOT NULL
);
CREATE INDEX idx_number_low ON idx_number (type, param, low, rkey);
CREATE INDEX idx_number_rkey ON idx_number (rkey);

CREATE TABLE idx_quantity (
    rkey        INTEGER NOT NULL,
    type        TEXT    NOT NULL,
    param       TEXT    NOT NULL,
    system      TEXT    NOT NULL,
    code        TEXT    NOT NULL,
    unit        TEXT    NOT NULL,
    low         REAL    NOT NULL,
    high        REAL    NOT NULL,
    canon_code  TEXT    NOT NULL,
    canon_value REAL    NOT NULL,
    comp        INTEGER NOT NULL
);
CREATE INDEX idx_quantity_low ON idx_quantity (type, param, low, rkey);
CREATE INDEX idx_quantity_rkey ON idx_quantity (rkey);

CREATE TABLE idx_reference (
    rkey        INTEGER NOT NULL,
    type        TEXT    NOT NULL,
    param       TEXT    NOT NULL,
    target_type TEXT    NOT NULL,
    target_id   TEXT    NOT NULL,
    url         TEXT    NOT NULL,
    version     TEXT    NOT NULL,
    comp        INTEGER NOT NULL
);
-- Who points at a target (search by reference, _has, _revinclude).
CREATE INDEX idx_reference_target ON idx_reference (type, param, target_id, target_type, rkey);
CREATE INDEX idx_reference_url ON idx_reference (type, param, url, rkey);
-- What a resource points at (chains, _include).
CREATE INDEX idx_reference_rkey ON idx_reference (rkey);

CREATE TABLE idx_uri (
    rkey  INTEGER NOT NULL,
    type  TEXT    NOT NULL,
    param TEXT    NOT NULL,
    value TEXT    NOT NULL,
    comp  INTEGER NOT NULL
);
CREATE INDEX idx_uri_value ON idx_uri (type, param, value, rkey);
CREATE INDEX idx_uri_rkey ON idx_uri (rkey);

CREATE TABLE idx_compartment (
    rkey  INTEGER NOT NULL,
    type  TEXT    NOT NULL,
    ctype TEXT    NOT NULL,
    cid   TEXT    NOT NULL
);
CREATE INDEX idx_compartment_owner ON idx_compartment (ctype, cid, type, rkey);
CREATE INDEX idx_compartment_rkey ON idx_compartment (rkey);
