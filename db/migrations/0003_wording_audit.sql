-- 0003: organisers' own wording for member-facing messages, and the append-only audit trail.

CREATE TABLE wording_overrides (
    guild_id   INTEGER NOT NULL,
    key        TEXT NOT NULL,
    text       TEXT NOT NULL,
    updated_by INTEGER NOT NULL,
    updated_at REAL NOT NULL,
    PRIMARY KEY (guild_id, key)
);

-- Every decision, with who, what and when. Each row carries the hash of the previous row of the
-- same server (a hash chain), so an edited or removed row is detected by `python -m bot.verify_audit`.
-- Member ids are stored as salted hashes (actor_ref, subject_ref) so a member's data deletion
-- never needs to rewrite the chain.
CREATE TABLE audit_log (
    id          INTEGER PRIMARY KEY,
    guild_id    INTEGER NOT NULL,
    seq         INTEGER NOT NULL,
    at          REAL NOT NULL,
    actor_ref   TEXT,
    action      TEXT NOT NULL,
    subject     TEXT NOT NULL DEFAULT '',
    details     TEXT NOT NULL DEFAULT '{}',
    prev_hash   TEXT NOT NULL,
    hash        TEXT NOT NULL,
    UNIQUE (guild_id, seq)
);

CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'audit_log is append-only');
END;

CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'audit_log is append-only');
END;

-- A per-server secret salt for hashing member ids in the audit trail and published draws.
CREATE TABLE guild_secrets (
    guild_id INTEGER PRIMARY KEY,
    salt     TEXT NOT NULL
);
