-- 0002: draws (one per call), every volunteer's place in the draw, and reviewers.
-- The algorithm is specified in docs/draw.md; the domain code is bot/domain/draws.py.

CREATE TABLE draws (
    call_id           INTEGER PRIMARY KEY REFERENCES calls (id) ON DELETE CASCADE,
    algorithm         TEXT NOT NULL,          -- e.g. 'hmac-sha256-rank/v2'
    seed              TEXT NOT NULL,          -- the call's seed, revealed by the draw
    roster_hash       TEXT NOT NULL,          -- SHA-256 fingerprint of the frozen roster
    -- The published roster: v2 [[ref, category_key], ...] sorted by ref (no user ids);
    -- v1 [[user_id, category_key], ...].
    roster_json       TEXT NOT NULL,
    -- v2: the secret per-draw salt the refs were made with (HMAC key). Never published; set to
    -- NULL when a member of the draw deletes their data, so nobody holding the database can
    -- re-link their ref by trying user ids. Nothing needs it after the draw: refs are stored.
    ref_salt          TEXT,
    places_json       TEXT NOT NULL,          -- {category_key: places} used by the draw
    group_role_id     INTEGER,
    reviewer_role_id  INTEGER,
    drawn_by          INTEGER NOT NULL,
    drawn_at          REAL NOT NULL,
    result_message_id INTEGER,                -- NULL until the result is posted
    posted_at         REAL
);
CREATE INDEX draws_unposted ON draws (call_id) WHERE result_message_id IS NULL;

-- One row per volunteer in the frozen roster.
-- ref: the volunteer's entry reference, as published (v2: HMAC of the user id with the draw's
--   ref_salt; v1: the user id in decimal). The draw always writes it; the default only gives a
--   row written by hand a unique value that can't be linked to anyone.
-- user_id: who it is, for running the group; NULL once the member deleted their data
--   (/mydata delete). The ref stays, so the published draw still verifies.
-- rank: 1-based position in the category's draw order (never changes).
-- status: selected (in the group), reserve (waiting in order), replaced (left the group),
--   withdrawn (left the reserve list: deleted their data).
-- A promoted reserve is 'selected' with promoted_at set.
-- announced_at: the "X has left the group" post in the call's channel (claimed before posting).
-- notified_at/notified_via: the "you have a place" message (claimed before sending; via 'dm' or
-- 'channel' when DMs were closed). invited_at/invited_via: the "would you review?" message.
-- notify_claim/invite_claim: which bot process holds the claim (a random id per start).
-- A claim with no via is a send in progress, or one a crash interrupted: a later process re-sends
-- it with the same Discord nonce while Discord still de-duplicates it (5 minutes), and otherwise
-- marks it via 'unknown' (the message may have gone out: never sent a second time).
-- role_at: when the group role was given.
CREATE TABLE draw_entries (
    call_id       INTEGER NOT NULL REFERENCES draws (call_id) ON DELETE CASCADE,
    ref           TEXT NOT NULL DEFAULT (lower(hex(randomblob(16)))),
    user_id       INTEGER,
    category_id   INTEGER NOT NULL REFERENCES call_categories (id) ON DELETE CASCADE,
    rank          INTEGER NOT NULL,
    status        TEXT NOT NULL CHECK (status IN ('selected', 'reserve', 'replaced', 'withdrawn')),
    confirmation  TEXT NOT NULL DEFAULT 'pending' CHECK (confirmation IN ('pending', 'confirmed', 'declined')),
    promoted_at   REAL,
    left_at       REAL,
    left_reason   TEXT,
    notified_at   REAL,
    notified_via  TEXT,
    notify_claim  TEXT,
    invited_at    REAL,
    invited_via   TEXT,
    invite_claim  TEXT,
    role_at       REAL,
    announced_at  REAL,
    PRIMARY KEY (call_id, ref),
    UNIQUE (call_id, user_id),                -- NULLs (deleted members) don't collide
    UNIQUE (call_id, category_id, rank)
);
CREATE INDEX draw_entries_user ON draw_entries (user_id) WHERE user_id IS NOT NULL;
CREATE INDEX draw_entries_status ON draw_entries (call_id, category_id, status, rank);

-- Volunteers not drawn are invited to review the plan instead.
CREATE TABLE call_reviewers (
    call_id     INTEGER NOT NULL REFERENCES calls (id) ON DELETE CASCADE,
    user_id     INTEGER NOT NULL,
    status      TEXT NOT NULL DEFAULT 'invited' CHECK (status IN ('invited', 'accepted', 'declined')),
    invited_at  REAL NOT NULL,
    answered_at REAL,
    role_at     REAL,
    PRIMARY KEY (call_id, user_id)
);
