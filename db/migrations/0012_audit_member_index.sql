-- 0012: which members each audit row names, indexed, so a member's own rows (/mydata show) are
-- found by an index lookup instead of a scan of every row's details.

-- One line per (row, member reference): the row's actor and every reference in its details
-- (the values of its `*user_id` / `*user_ids` keys, see db/repositories/audit.py). A reference
-- is the same salted hash the log itself holds; after `/mydata delete` it can no longer be
-- linked to the member, here as in the log. Rows are named by (guild_id, seq), which the log
-- keeps unique.
CREATE TABLE audit_refs (
    guild_id INTEGER NOT NULL,
    ref      TEXT NOT NULL,
    seq      INTEGER NOT NULL,
    PRIMARY KEY (guild_id, ref, seq)
) WITHOUT ROWID;

INSERT OR IGNORE INTO audit_refs (guild_id, ref, seq)
SELECT guild_id, actor_ref, seq FROM audit_log WHERE actor_ref IS NOT NULL;

INSERT OR IGNORE INTO audit_refs (guild_id, ref, seq)
SELECT a.guild_id, e.value, a.seq
FROM audit_log AS a, json_each(a.details) AS e
WHERE json_valid(a.details) AND e.key LIKE '%user_id' AND e.type = 'text';

INSERT OR IGNORE INTO audit_refs (guild_id, ref, seq)
SELECT a.guild_id, v.value, a.seq
FROM audit_log AS a, json_each(a.details) AS e, json_each(e.value) AS v
WHERE json_valid(a.details) AND e.key LIKE '%user_ids' AND e.type = 'array'
  AND v.type = 'text';
