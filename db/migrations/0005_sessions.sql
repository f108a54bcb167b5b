-- 0005: sessions with limited places, bookings with a fair waiting list, the private booking
-- survey, evaluations, repeats' priority lists, and per-recipient deliveries (sent once).

CREATE TABLE sessions (
    id             INTEGER PRIMARY KEY,
    guild_id       INTEGER NOT NULL,
    number         INTEGER NOT NULL,
    channel_id     INTEGER NOT NULL,
    message_id     INTEGER,
    event_id       INTEGER,
    title          TEXT NOT NULL,
    description    TEXT NOT NULL DEFAULT '',
    starts_at      REAL NOT NULL,
    ends_at        REAL NOT NULL,
    closes_at      REAL NOT NULL,
    capacity       INTEGER NOT NULL CHECK (capacity >= 1),
    reminders      TEXT NOT NULL DEFAULT '[]',  -- JSON list of offsets in seconds before the start
    repeat_of      INTEGER REFERENCES sessions (id) ON DELETE SET NULL,
    priority_until REAL,  -- until then only people on session_priority may book
    status         TEXT NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'cancelled')),
    created_by     INTEGER NOT NULL,
    created_at     REAL NOT NULL,
    cancelled_at   REAL,
    UNIQUE (guild_id, number),
    CHECK (closes_at <= starts_at),
    CHECK (ends_at > starts_at)
);
CREATE UNIQUE INDEX sessions_message_id ON sessions (message_id) WHERE message_id IS NOT NULL;
CREATE INDEX sessions_guild_status ON sessions (guild_id, status);

-- The booking survey's questions (up to 5). kind 'choice' has options (JSON list).
CREATE TABLE session_questions (
    session_id INTEGER NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
    position   INTEGER NOT NULL,
    key        TEXT NOT NULL,
    text       TEXT NOT NULL,
    label      TEXT NOT NULL,
    kind       TEXT NOT NULL CHECK (kind IN ('choice', 'text')),
    options    TEXT NOT NULL DEFAULT '[]',
    required   INTEGER NOT NULL CHECK (required IN (0, 1)),
    PRIMARY KEY (session_id, position),
    UNIQUE (session_id, key)
);

-- One row per member per session. seq is the submission order (assigned inside the booking's
-- single INSERT ... SELECT statement); the waiting list is status 'waiting' ordered by seq.
CREATE TABLE session_bookings (
    session_id   INTEGER NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
    user_id      INTEGER NOT NULL,
    status       TEXT NOT NULL CHECK (status IN ('confirmed', 'waiting', 'cancelled')),
    seq          INTEGER NOT NULL,
    booked_at    REAL NOT NULL,
    promoted_at  REAL,
    cancelled_at REAL,
    PRIMARY KEY (session_id, user_id),
    UNIQUE (session_id, seq)
);
CREATE INDEX session_bookings_status ON session_bookings (session_id, status, seq);

-- PRIVATE survey answers: shown only to organisers (ephemeral list, CSV, a summary without
-- names). Deleted when the member cancels their booking.
CREATE TABLE session_answers (
    session_id INTEGER NOT NULL,
    user_id    INTEGER NOT NULL,
    position   INTEGER NOT NULL,
    key        TEXT NOT NULL,
    question   TEXT NOT NULL,
    answer     TEXT NOT NULL,
    PRIMARY KEY (session_id, user_id, key),
    FOREIGN KEY (session_id, user_id) REFERENCES session_bookings (session_id, user_id)
        ON DELETE CASCADE
);

-- A repeat: people left on the earlier session's waiting list, who may book first.
CREATE TABLE session_priority (
    session_id      INTEGER NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
    user_id         INTEGER NOT NULL,
    from_session_id INTEGER NOT NULL,
    PRIMARY KEY (session_id, user_id)
);

-- Evaluation after the session (one per attendee; a second submission replaces the first).
CREATE TABLE session_evaluations (
    session_id   INTEGER NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
    user_id      INTEGER NOT NULL,
    rating       INTEGER NOT NULL CHECK (rating BETWEEN 1 AND 5),
    useful       TEXT NOT NULL DEFAULT '',
    better       TEXT NOT NULL DEFAULT '',
    submitted_at REAL NOT NULL,
    PRIMARY KEY (session_id, user_id)
);

-- Who is sent what (reminder:<offset>:<start>, evaluation, promoted:<seq>, ...): one row per
-- recipient, moved pending -> sending -> sent/failed by single UPDATE ... RETURNING statements
-- (bot/domain/delivery.py), so a job that runs again after a crash, a restart or a Discord error
-- never sends twice and loses nobody. via: how it goes (or went): a DM, or a channel mention.
-- claimed_at: when the current send began ('sending' rows older than 5 minutes become 'unknown').
CREATE TABLE session_deliveries (
    session_id INTEGER NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
    kind       TEXT NOT NULL,
    user_id    INTEGER NOT NULL,
    state      TEXT NOT NULL DEFAULT 'pending'
               CHECK (state IN ('pending', 'sending', 'sent', 'failed', 'unknown')),
    via        TEXT NOT NULL DEFAULT 'dm' CHECK (via IN ('dm', 'channel')),
    claimed_at REAL,
    updated_at REAL NOT NULL,
    PRIMARY KEY (session_id, kind, user_id)
);
