"""Upgrading to 0012 (indexed member references in the audit log) finds every row that names a
member, as actor or in its details, exactly as the old scan did."""

from __future__ import annotations

import json
from pathlib import Path

from bot.clock import FakeClock, from_unix
from bot.domain.audit.chain import GENESIS, row_hash
from bot.domain.audit.service import AuditService
from db.repositories.audit import _ref
from db.sqlite import open_sqlite

NOW = 1_790_000_000.0
SALT = "s" * 32


async def test_an_audit_log_of_the_previous_schema_gets_its_member_index(tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite3"
    refs = {u: _ref(SALT, f"k{u}", u) for u in (101, 102, 103)}
    rows = [
        (refs[101], "call.signup", {"category": "x"}),
        (None, "draw.run", {"drawn_user_ids": [refs[102], refs[103]], "places": 2}),
        (refs[102], "call.switch", {"target_user_id": refs[103], "note": refs[101][:8]}),
        (None, "call.closed", {}),
    ]
    async with open_sqlite(path, migrate=False) as old:
        await old.migrate(upto=11)
        await old.execute("INSERT INTO guild_secrets (guild_id, salt) VALUES (9, ?)", (SALT,))
        for user in refs:
            await old.execute(
                "INSERT INTO member_keys (guild_id, user_id, key) VALUES (9, ?, ?)",
                (user, f"k{user}"),
            )
        prev = GENESIS
        for seq, (actor, action, details) in enumerate(rows, start=1):
            text = json.dumps(details, sort_keys=True, separators=(",", ":"))
            digest = row_hash(prev, 9, seq, NOW + seq, actor, action, "call:1", text)
            await old.execute(
                "INSERT INTO audit_log (guild_id, seq, at, actor_ref, action, subject, details, "
                "prev_hash, hash) VALUES (9, ?, ?, ?, ?, 'call:1', ?, ?, ?)",
                (seq, NOW + seq, actor, action, text, prev, digest),
            )
            prev = digest

    async with open_sqlite(path) as db:  # the new release starts on the old file
        assert await db.schema_version() >= 12
        audit = AuditService(db, FakeClock(from_unix(NOW + 100)))
        about = {u: [r.seq for r in await audit.rows_about(9, u)] for u in refs}
        assert about == {101: [1], 102: [2, 3], 103: [2, 3]}
        assert (await audit.verify(9)).ok
        # Rows written after the upgrade are indexed as they are appended.
        await audit.record(9, 103, "call.withdrawal", "call:1")
        assert [r.seq for r in await audit.rows_about(9, 103)] == [2, 3, 5]
