"""foxdog/progress.py: a bar on a terminal, one line per finished unit elsewhere."""

from __future__ import annotations

import io
import re

from foxdog.progress import Progress


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_one_line_per_unit_with_done_total_and_time_left_when_not_a_terminal() -> None:
    out = io.StringIO()
    with Progress(3, "pretrain simclr", "epoch", file=out) as bar:
        for loss in (0.9, 0.8, 0.7):
            bar.update(note=f"loss {loss}")
    lines = out.getvalue().splitlines()
    assert len(lines) == 3
    assert re.fullmatch(r"pretrain simclr:  33% 1/3 \[00:00<00:00, .*epoch.*\] loss 0.9", lines[0])
    assert lines[2].startswith("pretrain simclr: 100% 3/3 [")


def test_silent_for_small_units_when_not_a_terminal() -> None:
    out = io.StringIO()
    with Progress(1000, "index", "image", lines=False, file=out) as bar:
        bar.update(1000)
    assert out.getvalue() == ""


def test_a_bar_on_a_terminal() -> None:
    out = Terminal()
    with Progress(4, "baseline scratch", "seed", file=out) as bar:
        bar.update(4)
    assert "baseline scratch: 100%" in out.getvalue() and "4/4" in out.getvalue()
    assert "\r" in out.getvalue()  # redrawn in place, not one line per update
