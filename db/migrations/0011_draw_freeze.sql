-- 0008 (to be renumbered 0011 at merge): freeze, then reveal (docs/draw.md).
--
-- Closing a call freezes its roster: every volunteer gets an entry reference made from a fresh
-- per-entry random salt (the salt is not kept), the places are fixed, and a public randomness
-- value that does not exist yet is named (a drand round after the freeze, or a public value an
-- organiser names). The frozen roster is published before that value exists; the draw is made
-- from the committed seed and that value once it is out.

CREATE TABLE draw_freezes (
    call_id          INTEGER PRIMARY KEY REFERENCES calls (id) ON DELETE CASCADE,
    frozen_at        REAL NOT NULL,
    frozen_by        INTEGER,                 -- the organiser; NULL when closed on schedule
    reason           TEXT NOT NULL,           -- draw | organiser | schedule | post deleted
    roster_json      TEXT NOT NULL,           -- [[ref, category_key], ...] sorted by ref
    roster_hash      TEXT NOT NULL,           -- SHA-256 of the roster text (as version 2)
    freeze_hash      TEXT NOT NULL,           -- SHA-256 of the freeze text (docs/draw.md)
    places_json      TEXT NOT NULL,           -- {category_key: places}, fixed at the freeze
    beacon_kind      TEXT NOT NULL CHECK (beacon_kind IN ('drand', 'public')),
    beacon_chain     TEXT,                    -- drand: the chain hash
    beacon_round     INTEGER,                 -- drand: the round named at the freeze
    beacon_due_at    REAL NOT NULL,           -- when the value comes out (the round's time)
    beacon_source    TEXT,                    -- public: what value, published where and when
    beacon_value     TEXT,                    -- drand: randomness (hex); public: the text
    beacon_signature TEXT,                    -- drand: the round's BLS signature (hex)
    beacon_at        REAL,                    -- when the bot fetched (or was given) the value
    message_id       INTEGER,                 -- the public freeze post (reply to the call post)
    posted_at        REAL,
    waiting_notice_at REAL,                   -- "waiting for the beacon" told once
    group_role_id    INTEGER,                 -- asked for with /draw run (copied to the draw)
    reviewer_role_id INTEGER,
    roles_by         INTEGER                  -- who chose those roles (re-checked at each grant)
);

-- One row per frozen entry. user_id is NULL once the member deleted their data (the ref stays,
-- so the published freeze still verifies; at the draw such an entry is a withdrawal).
CREATE TABLE frozen_entries (
    call_id     INTEGER NOT NULL REFERENCES draw_freezes (call_id) ON DELETE CASCADE,
    ref         TEXT NOT NULL,
    user_id     INTEGER,
    category_id INTEGER NOT NULL REFERENCES call_categories (id) ON DELETE CASCADE,
    PRIMARY KEY (call_id, ref),
    UNIQUE (call_id, user_id)
);
CREATE INDEX frozen_entries_user ON frozen_entries (user_id) WHERE user_id IS NOT NULL;

-- The public history of a draw after it was made: every replacement, decline and withdrawal,
-- in order (seq), by reference. joined_ref: the reserve offered the place (NULL: none left, or
-- a reserve withdrew and no place was freed).
CREATE TABLE draw_changes (
    call_id      INTEGER NOT NULL REFERENCES draws (call_id) ON DELETE CASCADE,
    seq          INTEGER NOT NULL,
    category_key TEXT NOT NULL,
    left_ref     TEXT NOT NULL,
    joined_ref   TEXT,
    at           REAL NOT NULL,
    reason       TEXT NOT NULL CHECK (reason IN ('declined', 'replaced', 'withdrew')),
    PRIMARY KEY (call_id, seq)
);

-- Who chose a draw's roles (re-checked before every grant).
ALTER TABLE draws ADD COLUMN roles_by INTEGER;
