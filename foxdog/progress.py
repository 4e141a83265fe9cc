"""Progress of long loops on stderr: a tqdm bar on a terminal, one line per unit elsewhere.

On a terminal the bar shows done/total, the rate and the time left. Where stderr
is not a terminal (a log file, CI, ``dvc repro`` piped), a redrawn bar would be
noise, so :class:`Progress` prints one line per finished unit instead (tqdm's own
``format_meter``: the same done/total and estimate), or nothing when
``lines=False`` (for loops over thousands of images, whose units are too small).
"""

from __future__ import annotations

import sys
import time
from types import TracebackType
from typing import TextIO

from tqdm import tqdm


class Progress:
    """``with Progress(total, "pretrain simclr", "epoch") as bar: ... bar.update()``."""

    def __init__(
        self, total: int, desc: str, unit: str, *, lines: bool = True, file: TextIO | None = None
    ) -> None:
        self.total, self.desc, self.unit, self.lines = total, desc, unit, lines
        self.file = file if file is not None else sys.stderr
        self.done = 0
        self._start = time.monotonic()
        tty = hasattr(self.file, "isatty") and self.file.isatty()
        self._bar = tqdm(total=total, desc=desc, unit=unit, file=self.file) if tty else None

    def update(self, n: int = 1, note: str = "") -> None:
        """Count ``n`` finished units; ``note`` (e.g. a loss) goes at the end of the line."""
        self.done += n
        if self._bar is not None:
            self._bar.update(n)
            if note:
                self._bar.set_postfix_str(note, refresh=False)
        elif self.lines:
            elapsed = time.monotonic() - self._start
            line = tqdm.format_meter(
                self.done, self.total, elapsed, prefix=self.desc, unit=self.unit, ncols=0
            )
            print(f"{line}{' ' + note if note else ''}", file=self.file, flush=True)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()

    def __enter__(self) -> Progress:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
