"""``python -m bot.verify_draw``: re-runs a draw from an export or pasted values, no Discord."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path

from bot.domain.calls.rules import new_seed, seed_commitment
from bot.domain.draws.algorithm import entrant_ref, run_draw
from bot.verify_draw import main

SALT = "c3" * 16
IDS = [(1000 + i, "🧭") for i in range(10)] + [(2000 + i, "🌱") for i in range(7)]
ROSTER = sorted((entrant_ref(SALT, u), k) for u, k in IDS)


def export_for(seed: str, version: int = 2) -> dict[str, object]:
    roster: list[tuple[str | int, str]] = list(ROSTER) if version == 2 else list(IDS)
    result = run_draw(seed, roster, {"🧭": 3, "🌱": 3}, version=version)
    who = "ref" if version == 2 else "user_id"
    return {
        "format": "coprobot-draw",
        "format_version": version,
        "algorithm": "hmac-sha256-rank",
        "algorithm_version": version,
        "seed": seed,
        "seed_commitment": seed_commitment(seed),
        "roster_fingerprint": result.roster_fingerprint,
        "categories": [
            {"key": "🧭", "emoji": "🧭", "label": "Experienced", "places": 3},
            {"key": "🌱", "emoji": "🌱", "label": "New", "places": 3},
        ],
        "roster": [{who: str(u), "category": k} for u, k in roster],
        "result": {
            c.key: {"selected": list(c.selected), "reserve": list(c.reserve)}
            for c in result.categories
        },
    }


def run(argv: list[str], stdin: str = "") -> tuple[int, str]:
    out = io.StringIO()
    code = main(argv, stdin=io.StringIO(stdin), stdout=out)
    return code, out.getvalue()


def test_json_export_checks_out(tmp_path: Path) -> None:
    path = tmp_path / "call-1-draw.json"
    path.write_text(json.dumps(export_for(new_seed()), ensure_ascii=False), encoding="utf-8")
    code, out = run(["--json", str(path)])
    assert code == 0 and "checks out" in out
    code, _ = run(["--json", "-"], stdin=path.read_text(encoding="utf-8"))
    assert code == 0


def test_a_version_1_export_still_checks_out() -> None:
    code, out = run(["--json", "-"], stdin=json.dumps(export_for(new_seed(), version=1)))
    assert code == 0 and "hmac-sha256-rank/v1" in out
    v1_as_v2 = export_for(new_seed(), version=1)
    v1_as_v2["algorithm_version"] = 2  # user ids are not references
    assert run(["--json", "-"], stdin=json.dumps(v1_as_v2))[0] == 2


def test_tampered_export_does_not_check_out() -> None:
    data = export_for(new_seed())
    result = data["result"]
    assert isinstance(result, dict)
    result["🧭"]["selected"][0], result["🧭"]["reserve"][0] = (
        result["🧭"]["reserve"][0],
        result["🧭"]["selected"][0],
    )
    code, out = run(["--json", "-"], stdin=json.dumps(data))
    assert code == 1 and "NOT" in out
    other = export_for(new_seed())
    other["seed_commitment"] = seed_commitment(new_seed())
    assert run(["--json", "-"], stdin=json.dumps(other))[0] == 1


def test_pasted_values() -> None:
    seed = new_seed()
    result = run_draw(seed, ROSTER, {"🧭": 3, "🌱": 3})
    roster = " ".join(f"{r}:{k}" for r, k in ROSTER)
    expect = "; ".join(f"{c.key}=" + ",".join(c.selected) for c in result.categories)
    code, out = run(
        [
            "--seed",
            seed,
            "--roster",
            roster,
            "--places",
            "3",
            "--commitment",
            seed_commitment(seed),
            "--fingerprint",
            result.roster_fingerprint,
            "--expect",
            expect,
        ]
    )
    assert code == 0, out
    code, _ = run(
        ["--seed", seed, "--roster", roster, "--places", "🧭=3, 🌱=3", "--expect", f"🧭={'9' * 32}"]
    )
    assert code == 1
    # Version 1: user ids.
    v1 = run_draw(seed, IDS, {"🧭": 3, "🌱": 3}, version=1)
    code, out = run(
        [
            "--algorithm",
            "hmac-sha256-rank/v1",
            "--seed",
            seed,
            "--roster",
            " ".join(f"{u}:{k}" for u, k in IDS),
            "--places",
            "3",
            "--fingerprint",
            v1.roster_fingerprint,
            "--expect",
            "; ".join(f"{c.key}=" + ",".join(c.selected) for c in v1.categories),
        ]
    )
    assert code == 0, out


def test_interactive_prompts() -> None:
    seed = new_seed()

    class Tty(io.StringIO):
        def isatty(self) -> bool:
            return True

    lines = [
        seed,
        seed_commitment(seed),
        "",
        *(f"{r}:{k}" for r, k in ROSTER),
        "",
        "🧭=3, 🌱=3",
        "",
    ]
    out = io.StringIO()
    code = main([], stdin=Tty("\n".join(lines) + "\n"), stdout=out)
    assert code == 0, out.getvalue()


def test_bad_input_exit_code_2() -> None:
    ref = "1" * 32
    assert run(["--seed", "nothex", "--roster", f"{ref}:🧭", "--places", "1"])[0] == 2
    assert run(["--json", "-"], stdin="{not json")[0] == 2
    assert run(["--json", "-"], stdin=json.dumps({"seed": "x"}))[0] == 2
    assert run(["--seed", new_seed(), "--roster", f"{ref}:🧭", "--places", "🌱=1"])[0] == 2
    assert run(["--seed", new_seed(), "--roster", "1:🧭", "--places", "1"])[0] == 2  # not a ref
    assert (
        run(
            [
                "--algorithm",
                "coin-flip/v1",
                "--seed",
                new_seed(),
                "--roster",
                f"{ref}:🧭",
                "--places",
                "1",
            ]
        )[0]
        == 2
    )


def test_runs_as_a_module(tmp_path: Path) -> None:
    path = tmp_path / "d.json"
    path.write_text(json.dumps(export_for(new_seed()), ensure_ascii=False), encoding="utf-8")
    done = subprocess.run(
        [sys.executable, "-m", "bot.verify_draw", "--json", str(path)],
        capture_output=True,
        text=True,
        encoding="utf-8",
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_the_worked_example_in_the_docs_checks_out() -> None:
    text = (Path(__file__).resolve().parents[2] / "docs" / "draw.md").read_text(encoding="utf-8")
    block = text.split("<!-- worked-example -->", 1)[1].split("```json", 1)[1].split("```", 1)[0]
    code, out = run(["--json", "-"], stdin=block)
    assert code == 0, out
