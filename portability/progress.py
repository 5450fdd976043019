"""A progress bar on a terminal stream (the commands' stderr), one line redrawn."""

from __future__ import annotations

from typing import TextIO

WIDTH = 30


class ProgressBar:
    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self.tty = stream.isatty()
        self.last = ""

    def __call__(self, label: str, done: int, total: int) -> None:
        share = done / total if total else 1.0
        filled = int(WIDTH * share)
        text = f"{label:<16} [{'#' * filled}{'.' * (WIDTH - filled)}] {done}/{total}"
        if self.tty:
            self.stream.write("\r" + text)
            if done >= total:
                self.stream.write("\n")
        elif done >= total and text != self.last:
            self.stream.write(text + "\n")  # a log or a pipe: a line per finished step
        self.last = text
        self.stream.flush()
