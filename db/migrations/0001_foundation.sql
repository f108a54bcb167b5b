-- 0001: server settings, volunteer calls with categories and sign-ups, and the scheduled jobs table.
-- Times are REAL seconds since the Unix epoch (UTC).

CREATE TABLE guild_settings (
    guild_id          INTEGER PRIMARY KEY,
    organiser_role_id INTEGER,
    timezone          TEXT,
    dm_confirmations  INTEGER NOT NULL DEFAULT 1 CHECK (dm_confirmations IN (0, 1)),
    updated_at        REAL NOT NULL
);

CREATE TABLE calls (
    id              INTEGER PRIMARY KEY,
    guild_id        INTEGER NOT NULL,
    number          INTEGER NOT NULL,
    channel_id      INTEGER NOT NULL,
    message_id      INTEGER,
    title           TEXT NOT NULL,
    description     TEXT NOT NULL DEFAULT '',
    status          TEXT NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'closed')),
    closes_at       REAL,
    created_by      INTEGER NOT NULL,
    created_at      REAL NOT NULL,
    closed_at       REAL,
    close_reason    TEXT,
    seed            TEXT NOT NULL,
    seed_commitment TEXT NOT NULL,
    UNIQUE (guild_id, number)
);
CREATE UNIQUE INDEX calls_message_id ON calls (message_id) WHERE message_id IS NOT NULL;
CREATE INDEX calls_guild_status ON calls (guild_id, status);

CREATE TABLE call_categories (
    id        INTEGER PRIMARY KEY,
    call_id   INTEGER NOT NULL REFERENCES calls (id) ON DELETE CASCADE,
    position  INTEGER NOT NULL,
    emoji     TEXT NOT NULL,
    emoji_key TEXT NOT NULL,
    label     TEXT NOT NULL,
    places    INTEGER NOT NULL CHECK (places >= 1),
    UNIQUE (call_id, emoji_key),
    UNIQUE (call_id, position)
);

CREATE TABLE call_signups (
    call_id     INTEGER NOT NULL REFERENCES calls (id) ON DELETE CASCADE,
    user_id     INTEGER NOT NULL,
    category_id INTEGER NOT NULL REFERENCES call_categories (id) ON DELETE CASCADE,
    joined_at   REAL NOT NULL,
    source      TEXT NOT NULL DEFAULT 'reaction',
    PRIMARY KEY (call_id, user_id)
);
CREATE INDEX call_signups_order ON call_signups (call_id, category_id, joined_at);

CREATE TABLE scheduled_jobs (
    id          INTEGER PRIMARY KEY,
    key         TEXT NOT NULL UNIQUE,
    kind        TEXT NOT NULL,
    guild_id    INTEGER,
    run_at      REAL NOT NULL,
    payload     TEXT NOT NULL DEFAULT '{}',
    status      TEXT NOT NULL DEFAULT 'pending'
                CHECK (status IN ('pending', 'running', 'done', 'cancelled', 'failed')),
    attempts    INTEGER NOT NULL DEFAULT 0,
    last_error  TEXT,
    created_at  REAL NOT NULL,
    finished_at REAL
);
CREATE INDEX scheduled_jobs_due ON scheduled_jobs (status, run_at);
