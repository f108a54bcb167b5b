-- 0002: draws (one per call), every volunteer's place in the draw, and reviewers.

CREATE TABLE draws (
    call_id           INTEGER PRIMARY KEY REFERENCES calls (id) ON DELETE CASCADE,
    algorithm         TEXT NOT NULL,
    seed              TEXT NOT NULL,
    roster_hash       TEXT NOT NULL,
    roster_json       TEXT NOT NULL,
    places_json       TEXT NOT NULL,
    group_role_id     INTEGER,
    reviewer_role_id  INTEGER,
    drawn_by          INTEGER NOT NULL,
    drawn_at          REAL NOT NULL,
    result_message_id INTEGER,
    posted_at         REAL
);

-- One row per volunteer in the frozen roster.
-- status: selected (in the group), reserve (waiting in order), replaced (left the group),
-- promoted rows are 'selected' with promoted_at set.
CREATE TABLE draw_entries (
    call_id       INTEGER NOT NULL REFERENCES draws (call_id) ON DELETE CASCADE,
    user_id       INTEGER NOT NULL,
    category_id   INTEGER NOT NULL REFERENCES call_categories (id) ON DELETE CASCADE,
    rank          INTEGER NOT NULL,
    status        TEXT NOT NULL CHECK (status IN ('selected', 'reserve', 'replaced')),
    confirmation  TEXT NOT NULL DEFAULT 'pending' CHECK (confirmation IN ('pending', 'confirmed', 'declined')),
    promoted_at   REAL,
    left_at       REAL,
    left_reason   TEXT,
    notified_at   REAL,
    PRIMARY KEY (call_id, user_id),
    UNIQUE (call_id, category_id, rank)
);

-- Volunteers not drawn are invited to review the plan instead.
CREATE TABLE call_reviewers (
    call_id     INTEGER NOT NULL REFERENCES calls (id) ON DELETE CASCADE,
    user_id     INTEGER NOT NULL,
    status      TEXT NOT NULL DEFAULT 'invited' CHECK (status IN ('invited', 'accepted', 'declined')),
    invited_at  REAL NOT NULL,
    answered_at REAL,
    PRIMARY KEY (call_id, user_id)
);
