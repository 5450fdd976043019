"""A progress bar for the commands' stderr: one line redrawn on a terminal, a line per
finished step in a log or a pipe."""

from __future__ import annotations

from collections.abc import Callable

WIDTH = 30


class ProgressBar:
    def __init__(self, write: Callable[[str], None], *, tty: bool) -> None:
        self.write = write
        self.tty = tty

    def __call__(self, label: str, done: int, total: int) -> None:
        share = done / total if total else 1.0
        filled = int(WIDTH * share)
        text = f"{label:<16} [{'#' * filled}{'.' * (WIDTH - filled)}] {done}/{total}"
        if self.tty:
            self.write("\r" + text + ("\n" if done >= total else ""))
        elif done >= total:
            self.write(text + "\n")
