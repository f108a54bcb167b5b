"""``python -m bench``: run the suite and write ``docs/benchmarks.md``.

``--quick`` runs smaller bursts, fewer times, and only prints the table (unless ``--out``).
``--only a,b`` picks benchmarks; ``--profile`` prints where the bot's hot paths spend time.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
import time
from pathlib import Path

from bench import booking, growth, reactions, reconcile, reminders, startup
from bench.common import Section
from bench.report import render

BENCHMARKS = {
    "reactions": reactions,
    "booking": booking,
    "reminders": reminders,
    "startup": startup,
    "growth": growth,
    "reconcile": reconcile,
}
DEFAULT_OUT = Path(__file__).resolve().parent.parent / "docs" / "benchmarks.md"


async def run_all(names: list[str], *, quick: bool) -> list[Section]:
    sections = []
    for name in names:
        module = BENCHMARKS[name]
        cfg = module.Config.quick() if quick else module.Config.full()
        started = time.perf_counter()
        print(f"[bench] {name} ...", file=sys.stderr, flush=True)
        section = await module.run(cfg)
        print(
            f"[bench] {name} done in {time.perf_counter() - started:.1f} s",
            file=sys.stderr,
            flush=True,
        )
        sections.append(section)
    return sections


def _postgres_section(path: Path) -> str:
    """The PostgreSQL section (between its markers) of the report at ``path``, if any."""
    from bench.postgres import BEGIN, END

    text = path.read_text(encoding="utf-8") if path.exists() else ""
    if BEGIN not in text or END not in text:
        return ""
    return BEGIN + text.split(BEGIN, 1)[1].split(END, 1)[0] + END + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="small, fast smoke run")
    parser.add_argument("--only", default="", help="comma-separated: " + ",".join(BENCHMARKS))
    parser.add_argument(
        "--out",
        type=Path,
        default=None,
        help=f"where to write the report (default {DEFAULT_OUT} for a full run)",
    )
    parser.add_argument(
        "--profile",
        action="store_true",
        help="profile the bot's reaction and booking paths instead",
    )
    args = parser.parse_args(argv)
    # Errors are counted by the checks (a handler on the root logger); nothing else is printed.
    logging.getLogger().setLevel(logging.ERROR)

    if args.profile:
        from bench import profile

        asyncio.run(profile.main())
        return 0

    names = [n.strip() for n in args.only.split(",") if n.strip()] or list(BENCHMARKS)
    unknown = [n for n in names if n not in BENCHMARKS]
    if unknown:
        parser.error(f"unknown benchmark(s): {', '.join(unknown)}")
    started = time.perf_counter()
    sections = asyncio.run(run_all(names, quick=args.quick))
    seconds = time.perf_counter() - started
    mode = "quick mode: smaller bursts, 2 runs" if args.quick else "full mode"
    runs_note = (
        "Quick mode: fewer and smaller runs; use the full run for the real figures."
        if args.quick
        else "Every figure is over 5 runs."
    )
    command = (
        "python -m bench"
        + (" --quick" if args.quick else "")
        + (f" --only {args.only}" if args.only else "")
    )
    text = render(sections, mode=mode, runs_note=runs_note, seconds=seconds, command=command)
    out = args.out if args.out is not None else (None if args.quick else DEFAULT_OUT)
    if out is not None:
        out.parent.mkdir(parents=True, exist_ok=True)
        kept = _postgres_section(out)  # written by python -m bench.postgres: kept as it is
        out.write_text(text + (f"\n{kept}" if kept else ""), encoding="utf-8")
        print(f"[bench] wrote {out}", file=sys.stderr)
    else:
        print(text)
    failed = [c.name for s in sections for c in s.checks if not c.ok]
    if failed:
        print(f"[bench] {len(failed)} correctness check(s) failed", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
