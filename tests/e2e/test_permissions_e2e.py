"""Scenario 4: a member without organiser rights runs every organiser command and is refused.

The command list comes from the schema the bot actually synced, so a new organiser command is
covered automatically.
"""

from __future__ import annotations

from typing import Any

from tests.dbtools import table_names
from tests.e2e.conftest import World
from tests.e2e.harness import RunningBot

EPHEMERAL = 64
SUBCOMMAND, GROUP = 1, 2


def _value(option: dict[str, Any], world: World) -> Any:
    if option.get("choices"):
        return option["choices"][0]["value"]
    kind = option["type"]
    return {
        3: "2026-12-03 14:00",
        4: 1,
        5: True,
        6: world.members[1],
        7: world.channel,
        8: world.fake.bot_role(world.guild),
        9: world.members[1],
        10: 1.0,
        11: ("plan.txt", b"plan"),
    }[kind]


def _organiser_commands(world: World) -> list[tuple[str, dict[str, Any]]]:
    found: list[tuple[str, dict[str, Any]]] = []
    for command in world.fake.commands(world.guild):
        if command.get("default_member_permissions") in (None, "0") or command.get("type", 1) != 1:
            continue

        def walk(prefix: str, options: list[dict[str, Any]]) -> None:
            for opt in options:
                if opt["type"] == GROUP:
                    walk(f"{prefix} {opt['name']}", opt.get("options") or [])
                elif opt["type"] == SUBCOMMAND:
                    required = {
                        o["name"]: _value(o, world)
                        for o in opt.get("options") or []
                        if o.get("required")
                    }
                    found.append((f"{prefix} {opt['name']}", required))

        walk(command["name"], command.get("options") or [])
    return found


async def _table_counts(running: RunningBot) -> dict[str, int]:
    names = await table_names(running.db)
    return {n: await running.db.fetchval(f'SELECT COUNT(*) FROM "{n}"') for n in names}


async def test_every_organiser_command_refuses_a_member(world: World, running: RunningBot) -> None:
    fake = world.fake
    commands = _organiser_commands(world)
    assert any(name == "call create" for name, _ in commands)
    before = await _table_counts(running)
    member = world.members[0]
    for name, options in commands:
        handle = await fake.run_command(member, world.channel, name, **options)
        reply = await handle.wait(timeout=5)
        assert reply.flags & EPHEMERAL, name
        assert reply.content and "error id" not in reply.content, (name, reply.content)
    await running.settle()
    after = await _table_counts(running)
    after.pop("audit_log", None), before.pop("audit_log", None)
    assert after == before
    assert fake.bot_messages(world.channel) == []
