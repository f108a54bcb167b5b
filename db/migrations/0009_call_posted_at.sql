-- 0008 (issue 11; to be renumbered 0009 at merge): when a call's current post was made.
-- A call whose post was deleted can be re-posted (/call repost). Sign-ups made before the new
-- post existed have no reaction on it, so the start-up reconciliation must not read their
-- absence there as a withdrawal: it compares each sign-up's joined_at with this time.
ALTER TABLE calls ADD COLUMN posted_at REAL;
