-- 0008 (to be renumbered 0010 when merged): attendance (voice time and marks), the involvement
-- ledger (rates, members' payment preferences, entries owed -> approved -> paid), and how long
-- ledger entries are kept for accounting.

-- Time in a voice or stage channel that a meeting uses, recorded while the meeting is not over.
-- left_at NULL: still connected (as far as the bot knows). Minutes are the union of a member's
-- spans inside the event window, so a reconnect never counts twice.
CREATE TABLE voice_spans (
    id         INTEGER PRIMARY KEY,
    guild_id   INTEGER NOT NULL,
    channel_id INTEGER NOT NULL,
    user_id    INTEGER NOT NULL,
    joined_at  REAL NOT NULL,
    left_at    REAL,
    CHECK (left_at IS NULL OR left_at >= joined_at)
);
CREATE INDEX voice_spans_channel ON voice_spans (channel_id, joined_at);
CREATE UNIQUE INDEX voice_spans_open ON voice_spans (channel_id, user_id) WHERE left_at IS NULL;
CREATE INDEX voice_spans_member ON voice_spans (guild_id, user_id);

-- The voice or stage channel a session happens in (/attendance voice): its voice time is then
-- recorded as for a meeting with a voice channel.
CREATE TABLE session_voice (
    session_id       INTEGER PRIMARY KEY REFERENCES sessions (id) ON DELETE CASCADE,
    voice_channel_id INTEGER NOT NULL
);
CREATE INDEX session_voice_channel ON session_voice (voice_channel_id);

-- Attendance marked by an organiser (/attendance edit) or by the member ("I'm here").
-- A mark wins over voice time. minutes NULL with present = 1: the whole event.
CREATE TABLE attendance_marks (
    guild_id   INTEGER NOT NULL,
    event_kind TEXT NOT NULL CHECK (event_kind IN ('meeting', 'session')),
    event_id   INTEGER NOT NULL,
    user_id    INTEGER NOT NULL,
    present    INTEGER NOT NULL CHECK (present IN (0, 1)),
    minutes    INTEGER CHECK (minutes IS NULL OR minutes >= 0),
    source     TEXT NOT NULL CHECK (source IN ('organiser', 'member')),
    marked_at  REAL NOT NULL,
    PRIMARY KEY (event_kind, event_id, user_id)
);
CREATE INDEX attendance_marks_member ON attendance_marks (guild_id, user_id);

-- Rates: integers in minor units (pence, cents) per hour, NULL = not paid. payments 0: a
-- volunteer-only community (the ledger still counts hours). rounding_minutes: attended minutes
-- are rounded up to a multiple of this. retention_days: how long ledger entries are kept
-- (default 6 years, 2192 days).
CREATE TABLE involvement_settings (
    guild_id         INTEGER PRIMARY KEY,
    currency         TEXT NOT NULL DEFAULT 'GBP',
    payments         INTEGER NOT NULL DEFAULT 1 CHECK (payments IN (0, 1)),
    meeting_rate     INTEGER CHECK (meeting_rate IS NULL OR meeting_rate >= 0),
    session_rate     INTEGER CHECK (session_rate IS NULL OR session_rate >= 0),
    review_rate      INTEGER CHECK (review_rate IS NULL OR review_rate >= 0),
    review_fixed     INTEGER CHECK (review_fixed IS NULL OR review_fixed >= 0),
    rounding_minutes INTEGER NOT NULL DEFAULT 1 CHECK (rounding_minutes BETWEEN 1 AND 60),
    finance_role_id  INTEGER,
    retention_days   INTEGER NOT NULL DEFAULT 2192 CHECK (retention_days BETWEEN 365 AND 7305),
    updated_at       REAL NOT NULL
);

-- A member's private choice: paid, voucher, or decline ("don't pay me").
CREATE TABLE involvement_preferences (
    guild_id   INTEGER NOT NULL,
    user_id    INTEGER NOT NULL,
    method     TEXT NOT NULL CHECK (method IN ('paid', 'voucher', 'decline')),
    updated_at REAL NOT NULL,
    PRIMARY KEY (guild_id, user_id)
);

-- One row per member and activity (a meeting or session attended, a feedback response), plus
-- expense claims. amount NULL: no amount (declined, or payments off: state 'recorded').
-- user_id NULL: anonymised by /mydata delete, kept for accounting until retention ends.
CREATE TABLE ledger_entries (
    id          INTEGER PRIMARY KEY,
    guild_id    INTEGER NOT NULL,
    user_id     INTEGER,
    activity    TEXT NOT NULL CHECK (activity IN ('meeting', 'session', 'review', 'expense')),
    source_kind TEXT NOT NULL CHECK (source_kind IN ('meeting', 'session', 'feedback')),
    source_id   INTEGER NOT NULL,
    title       TEXT NOT NULL,
    occurred_at REAL NOT NULL,
    minutes     INTEGER NOT NULL DEFAULT 0 CHECK (minutes >= 0),
    amount      INTEGER CHECK (amount IS NULL OR amount >= 0),
    currency    TEXT NOT NULL,
    method      TEXT,
    description TEXT NOT NULL DEFAULT '',
    receipt     TEXT,
    state       TEXT NOT NULL
                CHECK (state IN ('owed', 'approved', 'paid', 'declined', 'recorded')),
    created_at  REAL NOT NULL,
    updated_at  REAL NOT NULL
);
CREATE UNIQUE INDEX ledger_entries_activity ON ledger_entries (source_kind, source_id, user_id, activity)
    WHERE activity != 'expense';
CREATE INDEX ledger_entries_guild ON ledger_entries (guild_id, occurred_at);
CREATE INDEX ledger_entries_member ON ledger_entries (guild_id, user_id);
