"""The work-session tools: create, resume, end, list; isolation, bad input, audit, query bounds."""

from __future__ import annotations

import pytest

from accounts.auth import authenticate_token
from memory.models import Memory
from orchestra.tenancy import tenant_scope
from tests.conftest import error_code, ok
from tools.activity.models import Activity
from tools.agents.models import Agent
from tools.worksessions.models import WorkSession


@pytest.fixture
def scout(acme) -> Agent:
    with tenant_scope(acme):
        return Agent.objects.create(organization=acme, name="Scout", slug="scout")


@pytest.fixture
def apollo(call, alice_id, acme) -> dict:
    return ok(call(alice_id, "create_project", name="Apollo"))


def remember(call, identity, session_id: str, content: str) -> dict:
    return ok(call(identity, "store_memory", content=content, scope="session", session=session_id))["memory"]


def test_create_resume_end_and_resume_again(call, alice_id, acme, scout, apollo) -> None:
    created = ok(
        call(
            alice_id,
            "create_session",
            title="  Fix the login bug ",
            goals=["reproduce", " write a test "],
            context="Users on Safari cannot log in.",
            agent="scout",
            project="apollo",
        )
    )
    assert created["title"] == "Fix the login bug" and created["goals"] == ["reproduce", "write a test"]
    assert created["status"] == "active" and "ended_at" not in created and "state" not in created
    assert created["agent_id"] == str(scout.pk) and created["project_id"] == apollo["id"]
    assert created["user_id"] == str(alice_id.user_id)

    first = remember(call, alice_id, created["id"], "The cookie is SameSite=None without Secure.")
    second = remember(call, alice_id, created["id"], "Safari drops such cookies.")
    other = ok(call(alice_id, "create_session", title="Unrelated"))
    remember(call, alice_id, other["id"], "Not this session's memory.")

    resumed = ok(call(alice_id, "resume_session", session=created["id"]))
    assert resumed["session"]["id"] == created["id"]
    assert resumed["session"]["goals"] == ["reproduce", "write a test"]
    assert resumed["session"]["context"] == "Users on Safari cannot log in."
    assert [m["id"] for m in resumed["memories"]] == [second["id"], first["id"]]
    assert [a["type"] for a in resumed["activity"]] == ["memory.stored", "memory.stored", "session.created"]

    ended = ok(
        call(
            alice_id,
            "end_session",
            session=created["id"],
            summary="Fixed: the cookie is now Secure.",
            state={"branch": "fix/login", "next": ["deploy"]},
        )
    )
    assert ended["session"]["status"] == "ended" and ended["session"]["ended_at"]
    assert ended["session"]["summary"] == "Fixed: the cookie is now Secure."
    assert ended["session"]["state"] == {"branch": "fix/login", "next": ["deploy"]}
    with tenant_scope(acme):
        summary_memory = Memory.objects.get(pk=ended["memory_id"])
    assert summary_memory.scope == "session" and str(summary_memory.session_id) == created["id"]
    assert "Fixed: the cookie is now Secure." in summary_memory.content
    assert "Fix the login bug" in summary_memory.content
    assert summary_memory.metadata == {"kind": "session.ended", "state": {"branch": "fix/login", "next": ["deploy"]}}
    assert summary_memory.tags == ["session-summary"]

    # An ended session can still be resumed: it shows its summary and final state.
    again = ok(call(alice_id, "resume_session", session=created["id"]))
    assert again["session"]["status"] == "ended" and again["session"]["summary"].startswith("Fixed")
    assert again["session"]["state"]["branch"] == "fix/login"
    assert again["memories"][0]["id"] == ended["memory_id"]
    assert [a["type"] for a in again["activity"][:2]] == ["memory.stored", "session.ended"]


def test_ending_an_ended_session_is_a_conflict_that_writes_nothing(call, alice_id, acme) -> None:
    session = ok(call(alice_id, "create_session", title="Once"))
    ok(call(alice_id, "end_session", session=session["id"], summary="Done.", state={"n": 1}))
    before = (Activity.unscoped.count(), Memory.unscoped.count())
    outcome = call(alice_id, "end_session", session=session["id"], summary="Again.", state={"n": 2})
    assert error_code(outcome) == "conflict"
    assert "already ended" in outcome.structured["error"]["message"]
    assert (Activity.unscoped.count(), Memory.unscoped.count()) == before
    with tenant_scope(acme):
        row = WorkSession.objects.get(pk=session["id"])
    assert row.summary == "Done." and row.state == {"n": 1}


def test_end_without_state_keeps_the_saved_state(call, alice_id, acme) -> None:
    session = ok(call(alice_id, "create_session", title="Stateless"))
    ended = ok(call(alice_id, "end_session", session=session["id"], summary="Nothing to carry."))
    assert "state" not in ended["session"]
    with tenant_scope(acme):
        assert Memory.objects.get(pk=ended["memory_id"]).metadata["state"] == {}


def test_every_change_writes_its_activity_rows(call, alice_id, acme, scout, apollo) -> None:
    session = ok(call(alice_id, "create_session", title="Audit", agent="scout", project="apollo"))
    ok(call(alice_id, "resume_session", session=session["id"]))  # reads write nothing
    ok(call(alice_id, "list_sessions"))
    ok(call(alice_id, "end_session", session=session["id"], summary="Audited."))
    rows = list(Activity.unscoped.filter(organization=acme, session_id=session["id"]).order_by("created_at"))
    # end_session changes two rows (the session, a new memory): one audit row each.
    assert [r.type for r in rows] == ["session.created", "session.ended", "memory.stored"]
    created, ended, stored = rows
    assert created.tool == "create_session" and created.target_type == "worksession"
    assert str(created.target_id) == session["id"] and str(created.project_id) == apollo["id"]
    assert created.actor_user_id == alice_id.user_id and created.token_id == alice_id.token_id
    assert created.agent_id == scout.pk and ended.agent_id == scout.pk and stored.agent_id == scout.pk
    assert ended.tool == stored.tool == "end_session" and stored.target_type == "memory"


def test_resume_is_a_bounded_number_of_queries(
    call, alice_id, acme, scout, apollo, django_assert_max_num_queries
) -> None:
    session = ok(call(alice_id, "create_session", title="Busy", agent="scout", project="apollo"))
    for n in range(25):
        remember(call, alice_id, session["id"], f"fact number {n}")
    with django_assert_max_num_queries(6):
        resumed = ok(call(alice_id, "resume_session", session=session["id"]))
    assert len(resumed["memories"]) == 20 and resumed["memories"][0]["content"] == "fact number 24"
    assert len(resumed["activity"]) == 20 and resumed["activity"][0]["type"] == "memory.stored"


def test_resume_shows_the_projects_latest_decisions(
    call, alice_id, acme, apollo, django_assert_max_num_queries
) -> None:
    ok(call(alice_id, "create_project", name="Gemini"))
    session = ok(call(alice_id, "create_session", title="Decide things", project="apollo"))
    titles = [f"Decision {n}" for n in range(12)]
    for title in titles:
        ok(call(alice_id, "log_decision", title=title, decision="We do it.", project="apollo", status="accepted"))
    ok(call(alice_id, "log_decision", title="Elsewhere", decision="Not Apollo.", project="gemini"))
    ok(call(alice_id, "log_decision", title="Organization-wide", decision="No project."))
    with django_assert_max_num_queries(6):
        resumed = ok(call(alice_id, "resume_session", session=session["id"]))
    assert [d["title"] for d in resumed["decisions"]] == list(reversed(titles))[:10]
    assert set(resumed["decisions"][0]) == {"id", "title", "status"}
    assert resumed["decisions"][0]["status"] == "accepted"
    unfiled = ok(call(alice_id, "create_session", title="No project"))
    assert ok(call(alice_id, "resume_session", session=unfiled["id"]))["decisions"] == []


def test_resume_shows_the_projects_open_tasks_most_urgent_first(
    call, alice_id, acme, apollo, django_assert_max_num_queries
) -> None:
    ok(call(alice_id, "create_project", name="Gemini"))
    session = ok(call(alice_id, "create_session", title="Work the backlog", project="apollo"))
    low = ok(call(alice_id, "create_task", title="Low", project="apollo", priority="low"))
    critical = ok(call(alice_id, "create_task", title="Critical", project="apollo", priority="critical"))
    first_medium = ok(call(alice_id, "create_task", title="Medium 1", project="apollo"))
    second_medium = ok(call(alice_id, "create_task", title="Medium 2", project="apollo"))
    done = ok(call(alice_id, "create_task", title="Done", project="apollo", priority="critical"))
    ok(call(alice_id, "complete_task", task=done["id"]))
    cancelled = ok(call(alice_id, "create_task", title="Cancelled", project="apollo", priority="high"))
    ok(call(alice_id, "update_task", task=cancelled["id"], status="cancelled"))
    deleted = ok(call(alice_id, "create_task", title="Deleted", project="apollo", priority="high"))
    ok(call(alice_id, "delete_task", task=deleted["id"]))
    ok(call(alice_id, "create_task", title="Elsewhere", project="gemini", priority="critical"))
    with django_assert_max_num_queries(6):
        resumed = ok(call(alice_id, "resume_session", session=session["id"]))
    assert [t["id"] for t in resumed["open_tasks"]] == [
        critical["id"],
        first_medium["id"],
        second_medium["id"],
        low["id"],
    ]
    assert resumed["open_tasks"][0] == {
        "id": critical["id"],
        "title": "Critical",
        "status": "todo",
        "priority": "critical",
    }
    for n in range(25):
        ok(call(alice_id, "create_task", title=f"Extra {n}", project="apollo"))
    assert len(ok(call(alice_id, "resume_session", session=session["id"]))["open_tasks"]) == 20


def test_list_sessions_mine_by_default_or_an_agents(
    call, alice, bob, acme, alice_id, scout, issue_token, django_assert_max_num_queries
) -> None:
    bob_id = authenticate_token(issue_token(bob, acme))
    mine = [ok(call(alice_id, "create_session", title=f"Alice {n}"))["id"] for n in range(5)]
    ok(call(bob_id, "create_session", title="Bob's", agent="scout"))
    ok(call(alice_id, "end_session", session=mine[0], summary="first one done"))

    seen, cursor = [], None
    while True:
        with django_assert_max_num_queries(4):
            page = ok(call(alice_id, "list_sessions", limit=2, cursor=cursor))
        seen += [s["id"] for s in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == list(reversed(mine))

    assert [s["title"] for s in ok(call(bob_id, "list_sessions"))["items"]] == ["Bob's"]
    assert [s["title"] for s in ok(call(alice_id, "list_sessions", agent="scout"))["items"]] == ["Bob's"]
    ended = ok(call(alice_id, "list_sessions", status="ended"))["items"]
    assert [s["id"] for s in ended] == [mine[0]] and ended[0]["status"] == "ended"
    assert len(ok(call(alice_id, "list_sessions", status="active"))["items"]) == 4


def test_another_organization_cannot_reach_sessions(call, alice_id, charlie_id, acme, globex, scout) -> None:
    session = ok(call(alice_id, "create_session", title="Secret plan", agent="scout"))
    for tool, extra in (("resume_session", {}), ("end_session", {"summary": "pwned"})):
        outcome = call(charlie_id, tool, session=session["id"], **extra)
        assert error_code(outcome) == "not_found"
        assert outcome.structured["error"]["message"] == f"session not found: {session['id']}"
    missing = "00000000-0000-4000-8000-000000000000"
    assert call(charlie_id, "resume_session", session=missing).structured["error"]["message"] == (
        f"session not found: {missing}"
    )
    assert ok(call(charlie_id, "list_sessions"))["items"] == []
    assert error_code(call(charlie_id, "list_sessions", agent="scout")) == "not_found"
    assert error_code(call(charlie_id, "create_session", title="x", agent="scout")) == "not_found"
    with tenant_scope(acme):
        assert WorkSession.objects.get().status == "active"
    assert not Memory.unscoped.exists()


def test_project_restricted_token(call, alice, acme, alice_id, apollo, issue_token) -> None:
    gemini = ok(call(alice_id, "create_project", name="Gemini"))
    elsewhere = ok(call(alice_id, "create_session", title="Gemini work", project="gemini"))
    restricted = authenticate_token(issue_token(alice, acme, project_id=apollo["id"]))
    made = ok(call(restricted, "create_session", title="Scoped"))
    assert made["project_id"] == apollo["id"]
    assert error_code(call(restricted, "create_session", title="x", project="gemini")) == "not_found"
    assert error_code(call(restricted, "resume_session", session=elsewhere["id"])) == "not_found"
    assert [s["id"] for s in ok(call(restricted, "list_sessions"))["items"]] == [made["id"]]
    with tenant_scope(acme):
        Agent.objects.create(organization=acme, name="Gemini bot", slug="gemini-bot", project_id=gemini["id"])
    assert error_code(call(restricted, "create_session", title="x", agent="gemini-bot")) == "not_found"
    assert error_code(call(restricted, "list_sessions", agent="gemini-bot")) == "not_found"
    assert ok(call(alice_id, "create_session", title="Bot work", agent="gemini-bot"))["agent_id"]


def test_read_only_token_cannot_create_or_end(call, alice, acme, alice_id, issue_token) -> None:
    session = ok(call(alice_id, "create_session", title="Mine"))
    reader = authenticate_token(issue_token(alice, acme, scopes=["read"]))
    assert error_code(call(reader, "create_session", title="X")) == "permission_denied"
    assert error_code(call(reader, "end_session", session=session["id"], summary="s")) == "permission_denied"
    assert ok(call(reader, "resume_session", session=session["id"]))["session"]["status"] == "active"


@pytest.mark.parametrize(
    "tool, arguments, code",
    [
        ("create_session", {}, "invalid_arguments"),
        ("create_session", {"title": ""}, "invalid_arguments"),
        ("create_session", {"title": "   "}, "invalid_arguments"),
        ("create_session", {"title": "x" * 201}, "invalid_arguments"),
        ("create_session", {"title": "ok", "goals": "one"}, "invalid_arguments"),
        ("create_session", {"title": "ok", "goals": ["g"] * 21}, "invalid_arguments"),
        ("create_session", {"title": "ok", "goals": ["x" * 501]}, "invalid_arguments"),
        ("create_session", {"title": "ok", "goals": ["fine", "  "]}, "invalid_arguments"),
        ("create_session", {"title": "ok", "context": "x" * 20_001}, "invalid_arguments"),
        ("create_session", {"title": "ok", "agent": "nobody"}, "not_found"),
        ("create_session", {"title": "ok", "project": "nowhere"}, "not_found"),
        ("create_session", {"title": "ok", "state": {}}, "invalid_arguments"),
        ("end_session", {"session": "SESSION", "summary": ""}, "invalid_arguments"),
        ("end_session", {"session": "SESSION", "summary": "   "}, "invalid_arguments"),
        ("end_session", {"session": "SESSION", "summary": "x" * 15_001}, "invalid_arguments"),
        ("end_session", {"session": "SESSION", "summary": "ok", "state": {"big": "x" * 33_000}}, "invalid_arguments"),
        ("end_session", {"session": "SESSION", "summary": "ok", "state": "done"}, "invalid_arguments"),
        ("end_session", {"session": "not-a-uuid", "summary": "ok"}, "not_found"),
        ("end_session", {"session": "SESSION"}, "invalid_arguments"),
        ("resume_session", {}, "invalid_arguments"),
        ("list_sessions", {"status": "paused"}, "invalid_arguments"),
        ("list_sessions", {"limit": 0}, "invalid_arguments"),
        ("list_sessions", {"limit": 101}, "invalid_arguments"),
        ("list_sessions", {"cursor": "!!bad!!"}, "invalid_arguments"),
        ("list_sessions", {"agent": "nobody"}, "not_found"),
    ],
)
def test_bad_input_is_a_tool_error_that_writes_nothing(call, alice_id, acme, tool, arguments, code) -> None:
    session = ok(call(alice_id, "create_session", title="Existing"))
    arguments = {k: session["id"] if v == "SESSION" else v for k, v in arguments.items()}

    def snapshot() -> tuple:
        return (
            Activity.unscoped.count(),
            Memory.unscoped.count(),
            list(WorkSession.unscoped.values("title", "status", "summary", "state", "ended_at")),
        )

    before = snapshot()
    outcome = call(alice_id, tool, **arguments)
    assert error_code(outcome) == code
    assert outcome.structured["error"]["message"]
    assert snapshot() == before
