"""A line diff of two texts for a page: hunks of changed lines with a little context,
each line marked added, removed or unchanged and numbered on its side. The page
escapes every line (Django's autoescape); nothing here builds HTML."""

from __future__ import annotations

import difflib
from collections.abc import Iterator
from dataclasses import dataclass, field
from itertools import islice
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
    exact: bool = True  # False: the texts were too large and different to match line by line
    truncated: bool = False  # True: more than MAX_SHOWN_LINES lines, the rest not shown

    @property
    def changed(self) -> bool:
        return bool(self.hunks)


# Pairs of lines the exact matcher may compare. difflib is quadratic on repetitive text
# (a spec of 60,000 "- x" lines took minutes): past this budget the changed middle is
# shown as removed and added whole, which is still correct, just coarse.
EXACT_BUDGET = 1_000_000
# Lines a page shows at most (a table of 100,000 rows is no use to a reader, and slow to
# render); the counts still cover every change.
MAX_SHOWN_LINES = 3000

Opcode = tuple[str, int, int, int, int]


def _opcodes(a: list[str], b: list[str]) -> tuple[list[Opcode], bool]:
    """difflib's opcodes from `a` to `b`, and whether they are exact. The common start
    and end (most edits leave most of a text alone) are matched first, in linear time."""
    head = 0
    while head < min(len(a), len(b)) and a[head] == b[head]:
        head += 1
    tail = 0
    while tail < min(len(a), len(b)) - head and a[-1 - tail] == b[-1 - tail]:
        tail += 1
    middle_a, middle_b = a[head : len(a) - tail], b[head : len(b) - tail]
    ops: list[Opcode] = [("equal", 0, head, 0, head)] if head else []
    exact = len(middle_a) * len(middle_b) <= EXACT_BUDGET
    if exact:
        # autojunk would treat frequent lines (blank ones, bullets) as noise and report
        # odd changes; within the budget, exactness is affordable.
        matcher = difflib.SequenceMatcher(None, middle_a, middle_b, autojunk=False)
        ops += [(tag, i1 + head, i2 + head, j1 + head, j2 + head) for tag, i1, i2, j1, j2 in matcher.get_opcodes()]
    elif middle_a or middle_b:
        tag = "replace" if middle_a and middle_b else ("delete" if middle_a else "insert")
        ops.append((tag, head, len(a) - tail, head, len(b) - tail))
    if tail:
        ops.append(("equal", len(a) - tail, len(a), len(b) - tail, len(b)))
    return ops, exact


def _grouped(ops: list[Opcode], context: int) -> list[list[Opcode]]:
    """The changes with `context` equal lines around each, split where more equal lines
    lie between two changes (difflib's get_grouped_opcodes, for our own opcodes)."""
    if not any(tag != "equal" for tag, *_ in ops):
        return []
    ops = list(ops)
    tag, i1, i2, j1, j2 = ops[0]
    if tag == "equal":
        ops[0] = (tag, max(i1, i2 - context), i2, max(j1, j2 - context), j2)
    tag, i1, i2, j1, j2 = ops[-1]
    if tag == "equal":
        ops[-1] = (tag, i1, min(i2, i1 + context), j1, min(j2, j1 + context))
    groups: list[list[Opcode]] = []
    group: list[Opcode] = []
    for tag, i1, i2, j1, j2 in ops:
        if tag == "equal" and i2 - i1 > 2 * context:
            group.append((tag, i1, min(i2, i1 + context), j1, min(j2, j1 + context)))
            groups.append(group)
            group = []
            i1, j1 = max(i1, i2 - context), max(j1, j2 - context)
        group.append((tag, i1, i2, j1, j2))
    if group and not (len(group) == 1 and group[0][0] == "equal"):
        groups.append(group)
    return groups


def _lines(group: list[Opcode], a: list[str], b: list[str]) -> Iterator[DiffLine]:
    for tag, i1, i2, j1, j2 in group:
        if tag == "equal":
            yield from (DiffLine("same", i + 1, j1 + (i - i1) + 1, a[i]) for i in range(i1, i2))
            continue
        if tag in ("replace", "delete"):
            yield from (DiffLine("removed", i + 1, None, a[i]) for i in range(i1, i2))
        if tag in ("replace", "insert"):
            yield from (DiffLine("added", None, j + 1, b[j]) for j in range(j1, j2))


def line_diff(old: str, new: str, *, context: int = CONTEXT_LINES, shown: int = MAX_SHOWN_LINES) -> Diff:
    """The changes from `old` to `new`, line by line (a changed line is one removed and
    one added, as in a unified diff): hunks of at most `shown` lines in all, counts of
    every change."""
    a, b = old.splitlines(), new.splitlines()
    ops, exact = _opcodes(a, b)
    groups = _grouped(ops, context)
    diff = Diff(hunks=[], added=0, removed=0, exact=exact)
    for group in groups:
        for tag, i1, i2, j1, j2 in group:
            diff.removed += i2 - i1 if tag in ("replace", "delete") else 0
            diff.added += j2 - j1 if tag in ("replace", "insert") else 0
    budget = shown
    for group in groups:
        first, last = group[0], group[-1]
        hunk = Hunk(
            old_start=first[1] + 1, old_count=last[2] - first[1], new_start=first[3] + 1, new_count=last[4] - first[3]
        )
        # One more than the budget tells whether anything was left out.
        hunk.lines = list(islice(_lines(group, a, b), budget + 1))
        if len(hunk.lines) > budget or budget == 0:
            hunk.lines = hunk.lines[:budget]
            diff.truncated = True
        budget -= len(hunk.lines)
        if hunk.lines:
            diff.hunks.append(hunk)
        if diff.truncated:
            break
    return diff
