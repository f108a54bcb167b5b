-- 0006: members' control of their data: retention period, audit member keys.

-- Survey answers and evaluation comments are deleted this many days after their session ends.
ALTER TABLE guild_settings ADD COLUMN retention_days INTEGER NOT NULL DEFAULT 90
    CHECK (retention_days BETWEEN 1 AND 3650);

-- A random secret per member and server, mixed into the member's reference in the audit log
-- (see db/repositories/audit.py). `/mydata delete` deletes it: the audit rows stay and still
-- verify, but can no longer be linked to the member.
CREATE TABLE member_keys (
    guild_id INTEGER NOT NULL,
    user_id  INTEGER NOT NULL,
    key      TEXT NOT NULL,
    PRIMARY KEY (guild_id, user_id)
);

-- What survey summaries keep after the answers themselves are deleted by the retention period:
-- per session and question, how many people gave each answer (for a text question, answer is ''
-- and count is how many answered). No member ids.
CREATE TABLE survey_answer_counts (
    session_id INTEGER NOT NULL,
    key        TEXT NOT NULL,
    question   TEXT NOT NULL,
    answer     TEXT NOT NULL,
    count      INTEGER NOT NULL CHECK (count >= 0),
    PRIMARY KEY (session_id, key, answer)
);
