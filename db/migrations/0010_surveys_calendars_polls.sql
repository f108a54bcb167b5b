-- 0008 (to be renumbered 0012 at merge): survey question kinds, calendar revisions, members'
-- own time zones and meeting time polls.

-- Question kinds: 'text', 'choice' (one of the options), 'multi' (any of the options, stored as
-- the chosen options joined by '; ') and 'scale' (1 to 5). SQLite cannot change a CHECK in
-- place, so the table is rebuilt with every row kept.
CREATE TABLE session_questions_v2 (
    session_id INTEGER NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
    position   INTEGER NOT NULL,
    key        TEXT NOT NULL,
    text       TEXT NOT NULL,
    label      TEXT NOT NULL,
    kind       TEXT NOT NULL CHECK (kind IN ('text', 'choice', 'multi', 'scale')),
    options    TEXT NOT NULL DEFAULT '[]',
    required   INTEGER NOT NULL CHECK (required IN (0, 1)),
    PRIMARY KEY (session_id, position),
    UNIQUE (session_id, key)
);
INSERT INTO session_questions_v2 (session_id, position, key, text, label, kind, options, required)
    SELECT session_id, position, key, text, label, kind, options, required FROM session_questions;
DROP TABLE session_questions;
ALTER TABLE session_questions_v2 RENAME TO session_questions;

-- Calendar files: the revision (SEQUENCE) of a session's or meeting's event, bumped whenever
-- its time changes or it is cancelled, so calendar apps replace the copy they hold.
ALTER TABLE sessions ADD COLUMN ics_sequence INTEGER NOT NULL DEFAULT 0;
ALTER TABLE meetings ADD COLUMN ics_sequence INTEGER NOT NULL DEFAULT 0;

-- A member's own time zone (/settings my-timezone): DMs show times in it too.
CREATE TABLE member_timezones (
    guild_id INTEGER NOT NULL,
    user_id  INTEGER NOT NULL,
    timezone TEXT NOT NULL,
    PRIMARY KEY (guild_id, user_id)
);

-- /meeting poll: a native Discord poll among candidate times; when it closes the organiser
-- picks one and the meeting is made from it.
CREATE TABLE meeting_polls (
    id          INTEGER PRIMARY KEY,
    guild_id    INTEGER NOT NULL,
    title       TEXT NOT NULL,
    options     TEXT NOT NULL,            -- JSON list of start times (unix seconds)
    duration_seconds INTEGER NOT NULL,
    call_id     INTEGER REFERENCES calls (id) ON DELETE SET NULL,
    role_id     INTEGER,
    channel_id  INTEGER NOT NULL,
    message_id  INTEGER,
    closes_at   REAL NOT NULL,
    status      TEXT NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'closed', 'decided')),
    counts      TEXT NOT NULL DEFAULT '[]', -- JSON, per option: the voters' user ids
    meeting_id  INTEGER REFERENCES meetings (id) ON DELETE SET NULL,
    created_by  INTEGER NOT NULL,
    created_at  REAL NOT NULL
);
CREATE UNIQUE INDEX meeting_polls_message ON meeting_polls (message_id) WHERE message_id IS NOT NULL;
