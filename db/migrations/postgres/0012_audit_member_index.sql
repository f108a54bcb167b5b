-- 0012 for PostgreSQL (db/migrations/0012_audit_member_index.sql uses SQLite's json_each and
-- WITHOUT ROWID): which members each audit row names, indexed. The comments of the SQLite file
-- explain the table.

CREATE TABLE audit_refs (
    guild_id BIGINT NOT NULL,
    ref      TEXT COLLATE "C" NOT NULL,
    seq      BIGINT NOT NULL,
    PRIMARY KEY (guild_id, ref, seq)
);

INSERT INTO audit_refs (guild_id, ref, seq)
SELECT guild_id, actor_ref, seq FROM audit_log WHERE actor_ref IS NOT NULL
ON CONFLICT DO NOTHING;

-- Details that are JSON objects: each `*user_id` text value, and each text inside a
-- `*user_ids` array. (Every details value the bot writes is a JSON object.)
INSERT INTO audit_refs (guild_id, ref, seq)
SELECT a.guild_id, e.value #>> '{}', a.seq
FROM audit_log AS a, jsonb_each(a.details::jsonb) AS e
WHERE a.details LIKE '{%' AND e.key LIKE '%user_id' AND jsonb_typeof(e.value) = 'string'
ON CONFLICT DO NOTHING;

INSERT INTO audit_refs (guild_id, ref, seq)
SELECT a.guild_id, v.value #>> '{}', a.seq
FROM audit_log AS a, jsonb_each(a.details::jsonb) AS e, jsonb_array_elements(e.value) AS v
WHERE a.details LIKE '{%' AND e.key LIKE '%user_ids' AND jsonb_typeof(e.value) = 'array'
  AND jsonb_typeof(v.value) = 'string'
ON CONFLICT DO NOTHING;
