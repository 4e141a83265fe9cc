"""Wall time per DVC stage of a timed `dvc repro`, from its log with a clock on every line.

Make the log (bash; the clock is the only addition to dvc's own output)::

    dvc repro --force 2>&1 | while IFS= read -r l; do printf '%s %s\\n' "$(date +%T)" "$l"; done \\
        > repro.log

then ``python benchmarks/repro_log.py repro.log [--all]``: minutes per kind of stage (the
part of a stage name before ``@``), their sum, and with ``--all`` every stage. A stage runs
from its ``Running stage`` line to the next ``Running stage`` line (or the last line), so
DVC's own bookkeeping between stages (hashing outputs, writing ``dvc.lock``) counts to the
stage before it, and the sum is the whole run.
"""

from __future__ import annotations

import argparse
import re
import sys
from datetime import datetime, timedelta
from pathlib import Path

import pandas as pd

LINE = re.compile(r"^(\d\d:\d\d:\d\d) (.*)$")
START = re.compile(r"^Running stage '([^']+)':")


def stage_times(lines: list[str]) -> pd.DataFrame:
    """``stage``, ``kind``, ``start`` and ``minutes`` of every stage the log shows running."""
    stamps: list[tuple[datetime, str | None]] = []
    day = datetime(2000, 1, 1)
    last = None
    for line in lines:
        m = LINE.match(line)
        if not m:
            continue
        t = datetime.combine(day, datetime.strptime(m.group(1), "%H:%M:%S").time())
        if last is not None and t < last:  # the clock passed midnight
            day += timedelta(days=1)
            t += timedelta(days=1)
        last = t
        started = START.match(m.group(2))
        stamps.append((t, started.group(1) if started else None))
    if not stamps:
        raise ValueError("no clocked lines: make the log as this script's docstring says")
    starts = [(t, name) for t, name in stamps if name is not None]
    ends = [t for t, _ in starts[1:]] + [stamps[-1][0]]
    spans = zip(starts, ends, strict=True)
    return pd.DataFrame(
        {
            "stage": [name for _, name in starts],
            "kind": [name.split("@")[0] for _, name in starts],
            "start": [t.strftime("%H:%M:%S") for t, _ in starts],
            "minutes": [(end - t).total_seconds() / 60 for (t, _), end in spans],
        }
    )


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("log", type=Path)
    ap.add_argument("--all", action="store_true", help="also list every stage")
    args = ap.parse_args()
    try:
        times = stage_times(args.log.read_text(encoding="utf-8", errors="replace").splitlines())
    except (OSError, ValueError) as err:
        print(f"{args.log}: {err}", file=sys.stderr)
        return 1
    kinds = (
        times.groupby("kind", sort=False)["minutes"]
        .agg(stages="count", minutes="sum")
        .reset_index()
    )
    print("| stage | count | minutes |\n|---|---:|---:|")
    for r in kinds.itertuples():
        print(f"| `{r.kind}` | {r.stages} | {r.minutes:.1f} |")
    print(f"| **total** | {len(times)} | **{times['minutes'].sum():.1f}** |")
    if args.all:
        print()
        for r in times.itertuples():
            print(f"{r.start}  {r.minutes:6.2f} min  {r.stage}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
