-- 0004: plan feedback rounds (audience frozen at open, responses, reminder deliveries)
-- and group meetings (audience, reminder deliveries, members' DM opt-in).

CREATE TABLE feedback_rounds (
    id                 INTEGER PRIMARY KEY,
    guild_id           INTEGER NOT NULL,
    number             INTEGER NOT NULL,
    title              TEXT NOT NULL,
    plan               TEXT NOT NULL,
    version            INTEGER NOT NULL DEFAULT 1,
    call_id            INTEGER REFERENCES calls (id) ON DELETE SET NULL,
    role_id            INTEGER,
    channel_id         INTEGER NOT NULL,          -- the text or forum channel asked for
    thread_id          INTEGER,                   -- the thread (or forum post) once made
    message_channel_id INTEGER,                   -- where the first message lives
    message_id         INTEGER,                   -- the first message (plan + counter + button)
    status             TEXT NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'closed')),
    closes_at          REAL NOT NULL,
    reminders          TEXT NOT NULL DEFAULT '[]', -- JSON list of offsets in seconds before closes_at
    created_by         INTEGER NOT NULL,
    created_at         REAL NOT NULL,
    closed_at          REAL,
    close_reason       TEXT,
    UNIQUE (guild_id, number)
);
CREATE UNIQUE INDEX feedback_rounds_thread ON feedback_rounds (thread_id) WHERE thread_id IS NOT NULL;

-- Who the round is for, frozen when it opens (the drawn group, accepted reviewers, a role).
CREATE TABLE feedback_audience (
    round_id INTEGER NOT NULL REFERENCES feedback_rounds (id) ON DELETE CASCADE,
    user_id  INTEGER NOT NULL,
    position INTEGER NOT NULL,
    PRIMARY KEY (round_id, user_id)
);

-- One row per member who responded (button or message): the counter counts these rows.
-- late: the first response came after the deadline (or after the round was closed).
CREATE TABLE feedback_responses (
    round_id      INTEGER NOT NULL REFERENCES feedback_rounds (id) ON DELETE CASCADE,
    user_id       INTEGER NOT NULL,
    first_at      REAL NOT NULL,
    last_at       REAL NOT NULL,
    first_via     TEXT NOT NULL CHECK (first_via IN ('button', 'message')),
    response_count INTEGER NOT NULL DEFAULT 1,
    late          INTEGER NOT NULL DEFAULT 0 CHECK (late IN (0, 1)),
    works_well    TEXT,
    would_change  TEXT,
    missing       TEXT,
    form_at       REAL,
    form_late     INTEGER NOT NULL DEFAULT 0 CHECK (form_late IN (0, 1)),
    PRIMARY KEY (round_id, user_id)
);

-- Feedback written as messages in the thread (each kept; edits replace the text).
CREATE TABLE feedback_messages (
    round_id   INTEGER NOT NULL REFERENCES feedback_rounds (id) ON DELETE CASCADE,
    message_id INTEGER NOT NULL,
    user_id    INTEGER NOT NULL,
    content    TEXT NOT NULL,
    at         REAL NOT NULL,
    late       INTEGER NOT NULL DEFAULT 0 CHECK (late IN (0, 1)),
    PRIMARY KEY (round_id, message_id)
);
CREATE INDEX feedback_messages_user ON feedback_messages (round_id, user_id, at);

-- Each version of the plan, with the "You said, we did" list that came with it.
CREATE TABLE feedback_versions (
    round_id   INTEGER NOT NULL REFERENCES feedback_rounds (id) ON DELETE CASCADE,
    version    INTEGER NOT NULL,
    plan       TEXT NOT NULL,
    changes    TEXT NOT NULL DEFAULT '[]',
    created_by INTEGER NOT NULL,
    created_at REAL NOT NULL,
    PRIMARY KEY (round_id, version)
);

-- Per-recipient reminder deliveries, one row per member and reminder, moved pending -> sending ->
-- sent/failed by single UPDATE ... RETURNING statements (bot/domain/delivery.py), so a re-run
-- after a crash, a restart or a Discord error never sends twice and loses nobody.
-- via: a DM, or (DMs closed) a mention in the thread. claimed_at: when the current send began.
CREATE TABLE feedback_reminder_deliveries (
    round_id       INTEGER NOT NULL REFERENCES feedback_rounds (id) ON DELETE CASCADE,
    offset_seconds INTEGER NOT NULL,
    user_id        INTEGER NOT NULL,
    state          TEXT NOT NULL DEFAULT 'pending'
                   CHECK (state IN ('pending', 'sending', 'sent', 'failed', 'unknown')),
    via            TEXT NOT NULL DEFAULT 'dm' CHECK (via IN ('dm', 'channel')),
    claimed_at     REAL,
    updated_at     REAL NOT NULL,
    PRIMARY KEY (round_id, offset_seconds, user_id)
);

CREATE TABLE meetings (
    id               INTEGER PRIMARY KEY,
    guild_id         INTEGER NOT NULL,
    number           INTEGER NOT NULL,
    title            TEXT NOT NULL,
    starts_at        REAL NOT NULL,
    duration_seconds INTEGER NOT NULL,
    call_id          INTEGER REFERENCES calls (id) ON DELETE SET NULL,
    role_id          INTEGER,
    location         TEXT,                      -- the external place or link (`where`)
    voice_channel_id INTEGER,                   -- or a voice/stage channel
    channel_id       INTEGER NOT NULL,          -- where the meeting is posted
    message_id       INTEGER,
    event_id         INTEGER,                   -- the Discord scheduled event, when made
    status           TEXT NOT NULL DEFAULT 'scheduled' CHECK (status IN ('scheduled', 'cancelled')),
    reminders        TEXT NOT NULL DEFAULT '[]',
    created_by       INTEGER NOT NULL,
    created_at       REAL NOT NULL,
    cancelled_at     REAL,
    UNIQUE (guild_id, number)
);
CREATE INDEX meetings_guild_status ON meetings (guild_id, status, starts_at);

CREATE TABLE meeting_audience (
    meeting_id INTEGER NOT NULL REFERENCES meetings (id) ON DELETE CASCADE,
    user_id    INTEGER NOT NULL,
    position   INTEGER NOT NULL,
    PRIMARY KEY (meeting_id, user_id)
);

-- Per-recipient reminder deliveries (same states as feedback_reminder_deliveries). user_id 0 is
-- the reminder's channel post (via 'channel'); other rows are DMs to members who opted in.
CREATE TABLE meeting_reminder_deliveries (
    meeting_id     INTEGER NOT NULL REFERENCES meetings (id) ON DELETE CASCADE,
    offset_seconds INTEGER NOT NULL,
    user_id        INTEGER NOT NULL,
    state          TEXT NOT NULL DEFAULT 'pending'
                   CHECK (state IN ('pending', 'sending', 'sent', 'failed', 'unknown')),
    via            TEXT NOT NULL DEFAULT 'dm' CHECK (via IN ('dm', 'channel')),
    claimed_at     REAL,
    updated_at     REAL NOT NULL,
    PRIMARY KEY (meeting_id, offset_seconds, user_id)
);

-- Members who asked for meeting reminders by DM in this server (the "DM me reminders" button).
CREATE TABLE member_meeting_dms (
    guild_id   INTEGER NOT NULL,
    user_id    INTEGER NOT NULL,
    updated_at REAL NOT NULL,
    PRIMARY KEY (guild_id, user_id)
);
