"""Reads for work sessions."""

from __future__ import annotations

from orchestra.errors import not_found
from orchestra.ids import parse_uuid
from tools.worksessions.models import WorkSession


def work_session_get(ref: str, *, argument: str = "session") -> WorkSession:
    uid = parse_uuid(ref)
    session = WorkSession.objects.filter(pk=uid).first() if uid is not None else None
    if session is None:
        raise not_found(argument, ref)
    return session
