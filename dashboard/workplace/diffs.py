"""A line diff of two texts for a page: hunks of changed lines with a little context,
each line marked added, removed or unchanged and numbered on its side. The page
escapes every line (Django's autoescape); nothing here builds HTML."""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from typing import Literal

# Unchanged lines shown around each change.
CONTEXT_LINES = 3

Kind = Literal["same", "added", "removed"]


@dataclass(frozen=True)
class DiffLine:
    kind: Kind
    old_number: int | None
    new_number: int | None
    text: str


@dataclass
class Hunk:
    old_start: int
    old_count: int
    new_start: int
    new_count: int
    lines: list[DiffLine] = field(default_factory=list)

    @property
    def header(self) -> str:
        """The unified-diff header, "@@ -3,7 +3,8 @@"."""
        return f"@@ -{self.old_start},{self.old_count} +{self.new_start},{self.new_count} @@"


@dataclass
class Diff:
    hunks: list[Hunk]
    added: int
    removed: int

    @property
    def changed(self) -> bool:
        return bool(self.hunks)


def line_diff(old: str, new: str, *, context: int = CONTEXT_LINES) -> Diff:
    """The changes from `old` to `new`, line by line (a changed line is one removed and
    one added, as in a unified diff)."""
    a, b = old.splitlines(), new.splitlines()
    # autojunk would treat frequent lines (blank ones, list bullets) as noise in texts
    # over 200 lines and report odd changes; specs are bounded (256 KiB), so exactness wins.
    matcher = difflib.SequenceMatcher(None, a, b, autojunk=False)
    hunks: list[Hunk] = []
    added = removed = 0
    for group in matcher.get_grouped_opcodes(context):
        first, last = group[0], group[-1]
        hunk = Hunk(
            old_start=first[1] + 1,
            old_count=last[2] - first[1],
            new_start=first[3] + 1,
            new_count=last[4] - first[3],
        )
        for tag, i1, i2, j1, j2 in group:
            if tag == "equal":
                hunk.lines += [DiffLine("same", i + 1, j1 + (i - i1) + 1, a[i]) for i in range(i1, i2)]
                continue
            if tag in ("replace", "delete"):
                hunk.lines += [DiffLine("removed", i + 1, None, a[i]) for i in range(i1, i2)]
                removed += i2 - i1
            if tag in ("replace", "insert"):
                hunk.lines += [DiffLine("added", None, j + 1, b[j]) for j in range(j1, j2)]
                added += j2 - j1
        hunks.append(hunk)
    return Diff(hunks=hunks, added=added, removed=removed)
