-- 0007: one delivery table for every member message (sessions, feedback rounds, meetings and
-- draws), moved pending -> sending -> sent by the one delivery engine (bot/domain/delivery).
-- Every row of the four earlier stores is kept with its state, so nothing is sent again and
-- nothing is lost by the upgrade.
--
-- owner_kind/owner_id: what the message is about; part: which message of it (a session's
-- 'reminder:86400:<start>', a reminder's offset in seconds, a draw's 'notice' or 'invite');
-- via: a DM, or (DMs closed) a mention in a channel; claimed_at: when the current send began.

CREATE TABLE deliveries (
    owner_kind TEXT NOT NULL CHECK (owner_kind IN ('session', 'feedback', 'meeting', 'draw')),
    owner_id   INTEGER NOT NULL,
    part       TEXT NOT NULL,
    user_id    INTEGER NOT NULL,
    state      TEXT NOT NULL DEFAULT 'pending'
               CHECK (state IN ('pending', 'sending', 'sent', 'failed', 'unknown')),
    via        TEXT NOT NULL DEFAULT 'dm' CHECK (via IN ('dm', 'channel')),
    claimed_at REAL,
    updated_at REAL NOT NULL,
    PRIMARY KEY (owner_kind, owner_id, part, user_id)
);
CREATE INDEX deliveries_user ON deliveries (user_id);

INSERT INTO deliveries (owner_kind, owner_id, part, user_id, state, via, claimed_at, updated_at)
SELECT 'session', session_id, kind, user_id, state, via, claimed_at, updated_at
FROM session_deliveries;

INSERT INTO deliveries (owner_kind, owner_id, part, user_id, state, via, claimed_at, updated_at)
SELECT 'feedback', round_id, CAST(offset_seconds AS TEXT), user_id, state, via, claimed_at,
       updated_at
FROM feedback_reminder_deliveries;

INSERT INTO deliveries (owner_kind, owner_id, part, user_id, state, via, claimed_at, updated_at)
SELECT 'meeting', meeting_id, CAST(offset_seconds AS TEXT), user_id, state, via, claimed_at,
       updated_at
FROM meeting_reminder_deliveries;

-- Draws kept their deliveries in columns of draw_entries: a claim time without 'via' was a send
-- in progress (or one a crash interrupted), which the engine treats the same way: pending with
-- its first claim time (re-sent with the same nonce only within Discord's de-duplication
-- window, else marked unknown).
INSERT INTO deliveries (owner_kind, owner_id, part, user_id, state, via, claimed_at, updated_at)
SELECT 'draw', call_id, 'notice', user_id,
       CASE WHEN notified_via IN ('dm', 'channel') THEN 'sent'
            WHEN notified_via = 'unknown' THEN 'unknown' ELSE 'pending' END,
       CASE WHEN notified_via = 'channel' THEN 'channel' ELSE 'dm' END,
       notified_at, notified_at
FROM draw_entries WHERE notified_at IS NOT NULL AND user_id IS NOT NULL;

INSERT INTO deliveries (owner_kind, owner_id, part, user_id, state, via, claimed_at, updated_at)
SELECT 'draw', call_id, 'invite', user_id,
       CASE WHEN invited_via IN ('dm', 'channel') THEN 'sent'
            WHEN invited_via = 'unknown' THEN 'unknown' ELSE 'pending' END,
       CASE WHEN invited_via = 'channel' THEN 'channel' ELSE 'dm' END,
       invited_at, invited_at
FROM draw_entries WHERE invited_at IS NOT NULL AND user_id IS NOT NULL;

DROP TABLE session_deliveries;
DROP TABLE feedback_reminder_deliveries;
DROP TABLE meeting_reminder_deliveries;
ALTER TABLE draw_entries DROP COLUMN notified_at;
ALTER TABLE draw_entries DROP COLUMN notified_via;
ALTER TABLE draw_entries DROP COLUMN notify_claim;
ALTER TABLE draw_entries DROP COLUMN invited_at;
ALTER TABLE draw_entries DROP COLUMN invited_via;
ALTER TABLE draw_entries DROP COLUMN invite_claim;

-- A deleted owner takes its deliveries with it (the old per-feature tables did this by foreign
-- key; one table for four kinds of owner does it by trigger).
CREATE TRIGGER deliveries_of_session AFTER DELETE ON sessions
BEGIN
    DELETE FROM deliveries WHERE owner_kind = 'session' AND owner_id = OLD.id;
END;

CREATE TRIGGER deliveries_of_round AFTER DELETE ON feedback_rounds
BEGIN
    DELETE FROM deliveries WHERE owner_kind = 'feedback' AND owner_id = OLD.id;
END;

CREATE TRIGGER deliveries_of_meeting AFTER DELETE ON meetings
BEGIN
    DELETE FROM deliveries WHERE owner_kind = 'meeting' AND owner_id = OLD.id;
END;

CREATE TRIGGER deliveries_of_draw AFTER DELETE ON draws
BEGIN
    DELETE FROM deliveries WHERE owner_kind = 'draw' AND owner_id = OLD.call_id;
END;

-- The "not your buttons" reply is shared by every feature's buttons now (bot/components.py).
UPDATE wording_overrides SET key = 'buttons.not_yours' WHERE key = 'draw.buttons.not_yours';
