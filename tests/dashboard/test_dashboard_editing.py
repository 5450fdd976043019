"""People act on notes, specs, decisions, features and memories from the dashboard:
through the services agents' tools call, with the person named on the activity row.
Owners and members may; viewers see no forms and a forged POST is refused (403);
another organization's row answers 404; bad input changes nothing."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from django.test import Client

from accounts.models import Role, User
from accounts.services import membership_set
from billing.models import UsageCounter
from dashboard.workplace.diffs import MAX_SHOWN_LINES, line_diff
from memory.models import Memory
from tests.dashboard.dashboard_world import tool
from tools.activity.models import Activity
from tools.decisions.models import Decision, DecisionComment
from tools.features.models import Feature, Review
from tools.notes.models import Note
from tools.specs.models import Spec, SpecVersion

pytestmark = pytest.mark.django_db

HOSTILE = '<script>alert("x")</script><img src=x onerror=alert(1)>'


@pytest.fixture
def dave(acme: Any) -> User:
    """A viewer of Acme."""
    user = User.objects.create_user("dave@example.com", "pw-dave-123456", name="Dave")
    membership_set(organization=acme, user=user, role=Role.VIEWER)
    return user


@pytest.fixture
def world(alice_id: Any) -> dict[str, Any]:
    """One row of each kind people act on, written by Alice's agent through the tools
    (a smaller world than dashboard_world.build: these tests make many)."""
    project = tool(alice_id, "create_project", name="Apollo")
    slug = project["slug"]
    spec = tool(alice_id, "create_spec", title="Apollo spec", project=slug, content="# First draft")
    tool(alice_id, "update_spec", spec=spec["id"], content="# Second draft\n\nWith *details*.", change_note="details")
    old = tool(alice_id, "log_decision", title="Apollo uses MySQL", decision="MySQL.", project=slug, status="accepted")
    decision = tool(
        alice_id,
        "log_decision",
        title="Apollo uses PostgreSQL",
        decision="PostgreSQL.",
        project=slug,
        supersedes=old["id"],
        status="accepted",
    )
    solo = [{"name": "build"}, {"name": "review", "review": True, "self_review_allowed": True}, {"name": "done"}]
    feature = tool(alice_id, "create_feature", title="Apollo login", project=slug, workflow=solo)
    tool(alice_id, "advance_feature", feature=feature["id"])
    tool(alice_id, "submit_review", feature=feature["id"], verdict="approved")

    def memory(content: str) -> dict[str, Any]:
        return tool(alice_id, "store_memory", content=content, scope="project", project=slug)["memory"]

    return {
        "project": project,
        "spec": spec,
        "old_decision": old,
        "decision": decision,
        "feature": feature,
        "note": tool(alice_id, "create_note", title="Apollo note", content="## Notes", project=slug),
        "memory": memory("Apollo deploys go through staging first."),
        # A newer memory of the project, to mark the first superseded by.
        "newer_memory": memory("Apollo deploys go through canary now."),
    }


def client_for(user: User, *, csrf: bool = False) -> Client:
    client = Client(enforce_csrf_checks=csrf)
    client.force_login(user)
    return client


@dataclass(frozen=True)
class Action:
    """One kind of change: where it is posted, valid data, the activity it records, and
    a snapshot of what it changes (equal before and after when nothing changed)."""

    path: Callable[[dict[str, Any]], str]
    page: Callable[[dict[str, Any]], str]  # the page that shows its form
    form_id: str  # a text only the form shows
    data: dict[str, str]
    activity: str
    state: Callable[[dict[str, Any]], Any]


def _note(w: dict[str, Any]) -> tuple[str, str, list[str]]:
    note = Note.unscoped.get(pk=w["note"]["id"])
    return note.title, note.content, note.tags


ACTIONS: dict[str, Action] = {
    "note-new": Action(
        path=lambda w: "/notes/new/",
        page=lambda w: "/notes/",
        form_id="New note",
        data={"title": "Launch checklist", "content": "- fuel\n- go", "tags": "launch, Ops", "action": "save"},
        activity="note.created",
        state=lambda w: sorted(Note.unscoped.values_list("title", flat=True)),
    ),
    "note-edit": Action(
        path=lambda w: f"/notes/{w['note']['id']}/edit/",
        page=lambda w: f"/notes/{w['note']['id']}/",
        form_id="/edit/",
        data={"title": "Apollo note, revised", "content": "## Revised", "tags": "ops", "action": "save"},
        activity="note.updated",
        state=_note,
    ),
    "spec-new": Action(
        path=lambda w: f"/projects/{w['project']['slug']}/specs/new/",
        page=lambda w: f"/projects/{w['project']['slug']}/specs/",
        form_id="New spec",
        data={"title": "Telemetry", "status": "draft", "content": "# Telemetry\n\nEvery second.", "action": "save"},
        activity="spec.created",
        state=lambda w: sorted(Spec.unscoped.values_list("title", flat=True)),
    ),
    "spec-edit": Action(
        path=lambda w: f"/specs/{w['spec']['id']}/edit/",
        page=lambda w: f"/specs/{w['spec']['id']}/",
        form_id="/edit/",
        data={
            "title": "Apollo spec",
            "status": "review",
            "content": "# Third draft",
            "change_note": "tighter",
            "action": "save",
        },
        activity="spec.updated",
        state=lambda w: (
            Spec.unscoped.get(pk=w["spec"]["id"]).version,
            Spec.unscoped.get(pk=w["spec"]["id"]).status,
            SpecVersion.unscoped.filter(spec_id=w["spec"]["id"]).count(),
        ),
    ),
    "decision-status": Action(
        path=lambda w: f"/decisions/{w['decision']['id']}/status/",
        page=lambda w: f"/decisions/{w['decision']['id']}/",
        form_id='id="status-form"',
        data={"status": "", "outcome": "Shipped in March."},
        activity="decision.updated",
        state=lambda w: Decision.unscoped.values_list("status", "outcome").get(pk=w["decision"]["id"]),
    ),
    "decision-comment": Action(
        path=lambda w: f"/decisions/{w['decision']['id']}/discussion/",
        page=lambda w: f"/decisions/{w['decision']['id']}/",
        form_id='id="discussion-form"',
        data={"comment": "Agreed from the dashboard."},
        activity="decision.updated",
        state=lambda w: list(
            DecisionComment.unscoped.filter(decision_id=w["decision"]["id"]).values_list("text", flat=True)
        ),
    ),
    "feature-review": Action(
        path=lambda w: f"/features/{w['feature']['id']}/review/",
        page=lambda w: f"/features/{w['feature']['id']}/",
        form_id='id="review-form"',
        data={"verdict": "comment", "comments": "Check the logout path too."},
        activity="feature.reviewed",
        state=lambda w: Review.unscoped.filter(feature_id=w["feature"]["id"]).count(),
    ),
    "feature-advance": Action(
        path=lambda w: f"/features/{w['feature']['id']}/advance/",
        page=lambda w: f"/features/{w['feature']['id']}/",
        form_id='id="advance"',
        data={},
        activity="feature.advanced",
        state=lambda w: Feature.unscoped.values_list("gate", "status").get(pk=w["feature"]["id"]),
    ),
    "memory-supersede": Action(
        path=lambda w: f"/memories/{w['memory']['id']}/supersede/",
        page=lambda w: f"/memories/{w['memory']['id']}/",
        form_id='id="supersede-form"',
        data={"by": "{newer}"},
        activity="memory.superseded",
        state=lambda w: Memory.unscoped.values_list("superseded_by_id", flat=True).get(pk=w["memory"]["id"]),
    ),
    "memory-delete": Action(
        path=lambda w: f"/memories/{w['memory']['id']}/delete/",
        page=lambda w: f"/memories/{w['memory']['id']}/",
        form_id='id="delete-memory"',
        data={},
        activity="memory.deleted",
        state=lambda w: Memory.unscoped.filter(pk=w["memory"]["id"]).exists(),
    ),
}


def post_data(action: Action, world: dict[str, Any]) -> dict[str, str]:
    # A pasted link to the newer memory's page, as a person would give it.
    newer = f"http://testserver/memories/{world['newer_memory']['id']}/"
    return {k: v.replace("{newer}", newer) for k, v in action.data.items()}


@pytest.mark.parametrize("who", ["alice", "bob"])
def test_owners_and_members_act_and_the_activity_names_them(who, request, world) -> None:
    # One world for every action, in the order of ACTIONS (a review before the advance
    # that ends the feature, superseding a memory before deleting it).
    user = request.getfixturevalue(who)
    client = client_for(user)
    for name, action in ACTIONS.items():
        assert action.form_id in client.get(action.page(world)).content.decode(), name
        before = action.state(world)
        response = client.post(action.path(world), post_data(action, world))
        assert response.status_code == 302, (name, response.content.decode()[:2000])
        assert action.state(world) != before, name
        row = Activity.unscoped.filter(type=action.activity).order_by("-created_at").first()
        assert row is not None and row.actor_user_id == user.pk, name
        assert row.tool == "dashboard" and row.agent_id is None, name


def test_viewers_see_no_forms_and_a_forged_post_is_refused(dave, world) -> None:
    client = client_for(dave)
    for name, action in ACTIONS.items():
        page = client.get(action.page(world))
        assert page.status_code == 200 and action.form_id not in page.content.decode(), name
        before, activities = action.state(world), Activity.unscoped.count()
        assert client.post(action.path(world), post_data(action, world)).status_code == 403, name
        assert action.state(world) == before and Activity.unscoped.count() == activities, name


def test_another_organizations_rows_answer_404(charlie, globex, world) -> None:
    client = client_for(charlie)
    for name, action in ACTIONS.items():
        if name == "note-new":  # no row of Acme's in its path
            continue
        before = action.state(world)
        assert client.post(action.path(world), post_data(action, world)).status_code == 404, name
        assert client.get(action.page(world)).status_code == 404, name
        assert action.state(world) == before, name


def test_every_form_needs_its_csrf_token(alice, world) -> None:
    client = client_for(alice, csrf=True)
    for name, action in ACTIONS.items():
        before = action.state(world)
        assert client.post(action.path(world), post_data(action, world)).status_code == 403, name
        assert action.state(world) == before, name
    assert client.post("/markdown/preview/", {"content": "# hi"}).status_code == 403
    # The pages carry the token in their forms.
    assert 'name="csrfmiddlewaretoken"' in client.get(f"/decisions/{world['decision']['id']}/").content.decode()


BAD_INPUT = {
    "note-new": [
        {"title": "", "action": "save"},
        {"title": "x" * 201, "action": "save"},
        {"title": "ok", "project": "zeus", "action": "save"},  # another organization's project
    ],
    "note-edit": [
        {"title": "ok", "content": "é" * 40_000, "action": "save"},  # 80 KB: over the 64 KiB of update_note
        {"title": "ok", "tags": ",".join(f"t{n}" for n in range(21)), "action": "save"},
        {"title": "ok", "tags": "x" * 51, "action": "save"},
    ],
    "spec-new": [{"title": "T", "status": "shipped", "action": "save"}, {"title": "   ", "status": "draft"}],
    "spec-edit": [{"title": "T", "status": "draft", "change_note": "n" * 501, "action": "save"}],
    "decision-status": [{"status": "proposed", "outcome": ""}, {"status": "", "outcome": "o" * 20_001}],
    "decision-comment": [{"comment": ""}, {"comment": "c" * 4001}],
    "feature-review": [{"verdict": "maybe"}, {"verdict": "changes_requested", "comments": ""}],
    "memory-supersede": [
        {"by": ""},
        {"by": "not a memory"},
        {"by": "{self}"},
        {"by": "{foreign}"},
    ],
}


def test_bad_input_is_refused_with_a_clear_error_and_changes_nothing(alice, world, charlie_id) -> None:
    client = client_for(alice)
    foreign = tool(charlie_id, "store_memory", content="Globex secret.", scope="organization")["memory"]["id"]
    tool(charlie_id, "create_project", name="Zeus")
    for name, bad in BAD_INPUT.items():
        refused_without_change(client, ACTIONS[name], world, bad, foreign)


def refused_without_change(
    client: Client, action: Action, world: dict[str, Any], bad: list[dict[str, str]], foreign: str
) -> None:
    for data in bad:
        data = {k: v.replace("{self}", world["memory"]["id"]).replace("{foreign}", foreign) for k, v in data.items()}
        before, activities = action.state(world), Activity.unscoped.count()
        response = client.post(action.path(world), data)
        assert response.status_code in (400, 409), (data, response.status_code)
        assert 'class="errorlist' in response.content.decode() or 'role="alert"' in response.content.decode()
        assert action.state(world) == before and Activity.unscoped.count() == activities, data


def test_a_review_gate_is_refused_with_the_unmet_list_as_for_agents(bob, alice_id, world) -> None:
    feature = tool(alice_id, "create_feature", title="Apollo docking", project="apollo", workflow="quick")
    tool(alice_id, "advance_feature", feature=feature["id"])  # into review, moved by alice
    client = client_for(bob)
    response = client.post(f"/features/{feature['id']}/advance/")
    refusal = response.content.decode().split('id="advance-refused"')[1].split("</div>")[0]
    assert response.status_code == 409 and "<li>gate review needs an approved review</li>" in refusal
    assert Feature.unscoped.get(pk=feature["id"]).gate == "review"
    # Bob asks for changes: the refusal now lists both requirements an agent would see.
    client.post(f"/features/{feature['id']}/review/", {"verdict": "changes_requested", "comments": "Fix the hatch."})
    body = client.post(f"/features/{feature['id']}/advance/").content.decode()
    refusal = body.split('id="advance-refused"')[1].split("</div>")[0]
    assert "needs an approved review" in refusal and "changes requested by bob@example.com are outstanding" in refusal
    # Alice moved it into review: her approval is refused, as submit_review refuses an agent's.
    response = client_for(Feature.unscoped.get(pk=feature["id"]).created_by).post(
        f"/features/{feature['id']}/review/", {"verdict": "approved"}
    )
    assert response.status_code == 403 and "another member must review it" in response.content.decode()
    # Bob approves: the gate opens.
    client.post(f"/features/{feature['id']}/review/", {"verdict": "approved"})
    assert client.post(f"/features/{feature['id']}/advance/").status_code == 302
    assert Feature.unscoped.get(pk=feature["id"]).status == "done"


def test_a_decision_moves_only_along_its_transitions(alice, world) -> None:
    client = client_for(alice)
    old = world["old_decision"]["id"]  # superseded: final
    page = client.get(f"/decisions/{old}/").content.decode()
    assert "is final" in page and 'name="status"' not in page
    response = client.post(f"/decisions/{old}/status/", {"status": "accepted", "outcome": ""})
    assert response.status_code == 400 and Decision.unscoped.get(pk=old).status == "superseded"
    decision = world["decision"]["id"]
    client.post(f"/decisions/{decision}/status/", {"status": "superseded", "outcome": ""})
    assert Decision.unscoped.get(pk=decision).status == "superseded"
    row = Activity.unscoped.filter(type="decision.superseded", target_id=decision).get()
    assert row.actor_user_id == alice.pk and row.metadata["from"] == "accepted"


def test_a_spec_edit_is_a_new_version_and_a_status_alone_is_not(alice, world) -> None:
    client = client_for(alice)
    spec = world["spec"]["id"]
    data = {"title": "Apollo spec", "status": "draft", "content": "# Second draft\n\nWith *details*.", "action": "save"}
    updates = Activity.unscoped.filter(type="spec.updated").count()
    client.post(f"/specs/{spec}/edit/", data)  # nothing changed: nothing written
    assert Spec.unscoped.get(pk=spec).version == 2 and Activity.unscoped.filter(type="spec.updated").count() == updates
    client.post(f"/specs/{spec}/edit/", {**data, "status": "approved"})
    assert Spec.unscoped.values_list("version", "status").get(pk=spec) == (2, "approved")
    client.post(f"/specs/{spec}/edit/", {**data, "content": "# Third", "change_note": "short"})
    version = SpecVersion.unscoped.get(spec_id=spec, number=3)
    assert version.content == "# Third" and version.change_note == "short" and version.author_id == alice.pk


def test_preview_renders_sanitised_markdown_and_writes_nothing(alice, world, dave) -> None:
    client = client_for(alice)
    before = _note(world)
    # Without JavaScript: the Preview button re-renders the editor with the preview.
    response = client.post(
        f"/notes/{world['note']['id']}/edit/",
        {"title": "T", "content": f"**bold** {HOSTILE}", "tags": "", "action": "preview"},
    )
    body = response.content.decode()
    assert response.status_code == 200 and "<strong>bold</strong>" in body and "<script>alert" not in body
    assert "onerror" not in body.split('id="preview"')[1].split("</section>")[0]
    assert _note(world) == before
    # The endpoint editor.js calls: a fragment, sanitised the same way.
    fragment = client.post("/markdown/preview/", {"content": f"# Title\n\n{HOSTILE}"})
    assert fragment.status_code == 200 and fragment.content.decode().startswith("<h1>Title</h1>")
    assert "<script" not in fragment.content.decode() and "onerror" not in fragment.content.decode()
    assert client.post("/markdown/preview/", {"content": "x" * 262_145}).status_code == 400
    assert client.get("/markdown/preview/").status_code == 405
    assert client_for(dave).post("/markdown/preview/", {"content": "# hi"}).status_code == 403


def editors(world: dict[str, Any]) -> list[str]:
    return [
        "/notes/new/?project=apollo",
        f"/notes/{world['note']['id']}/edit/",
        f"/projects/{world['project']['slug']}/specs/new/",
        f"/specs/{world['spec']['id']}/edit/",
    ]


def test_the_editors_load_their_script_under_the_nonce(alice, world, dave) -> None:
    for path in editors(world):
        response = client_for(alice).get(path)
        body = response.content.decode()
        nonce = response["Content-Security-Policy"].split("'nonce-")[1].split("'")[0]
        assert response.status_code == 200 and f'src="/static/js/editor.js" nonce="{nonce}"' in body, path
        assert 'data-markdown="true"' in body and 'value="preview"' in body, path
        assert client_for(dave).get(path).status_code == 403, path
    # The editor starts from what is stored.
    body = client_for(alice).get(f"/specs/{world['spec']['id']}/edit/").content.decode()
    assert "With *details*." in body and 'value="Apollo spec"' in body


def test_deleting_a_memory_gives_its_bytes_back_to_the_plan(alice, acme, world) -> None:
    def used() -> int:
        return UsageCounter.objects.get(organization=acme, resource="memory_bytes").used

    before = used()
    size = len(Memory.unscoped.get(pk=world["memory"]["id"]).content.encode())
    client_for(alice).post(f"/memories/{world['memory']['id']}/delete/")
    assert used() == before - size


def test_superseding_links_both_memories_and_refuses_a_superseded_replacement(alice, world) -> None:
    client = client_for(alice)
    old, newer = world["memory"]["id"], world["newer_memory"]["id"]
    client.post(f"/memories/{old}/supersede/", {"by": newer})
    assert str(Memory.unscoped.get(pk=old).superseded_by_id) == newer
    assert str(Memory.unscoped.get(pk=newer).supersedes_id) == old
    page = client.get(f"/memories/{old}/").content.decode()
    assert "Superseded by" in page and "canary" in page
    # The other way round would make a cycle: the old one is itself superseded now.
    response = client.post(f"/memories/{newer}/supersede/", {"by": old})
    assert response.status_code == 409 and "is itself superseded" in response.content.decode()
    assert Memory.unscoped.get(pk=newer).superseded_by_id is None


# --- spec diffs ---------------------------------------------------------------------------


def test_line_diff_marks_removed_and_added_lines_with_their_numbers() -> None:
    old = "\n".join(f"line {n}" for n in range(1, 21))
    new = old.replace("line 5", "line five").replace("line 15\n", "") + "\nline 21"
    diff = line_diff(old, new)
    assert (diff.added, diff.removed, diff.exact, diff.truncated) == (2, 2, True, False)
    first, second = diff.hunks  # changes more than twice the context apart: two hunks
    assert first.header == "@@ -2,7 +2,7 @@"
    assert [(line.kind, line.old_number, line.new_number, line.text) for line in first.lines[2:5]] == [
        ("same", 4, 4, "line 4"),
        ("removed", 5, None, "line 5"),
        ("added", None, 5, "line five"),
    ]
    assert [(line.kind, line.text) for line in second.lines if line.kind != "same"] == [
        ("removed", "line 15"),
        ("added", "line 21"),
    ]
    assert not line_diff(old, old).changed


def test_line_diff_stays_fast_and_bounded_on_hostile_texts() -> None:
    # Repetitive text makes difflib quadratic: past the budget the middle is coarse.
    lines = [f"l{n % 105}" for n in range(60_000)]
    shuffled = [lines[(n * 7919) % 60_000] for n in range(60_000)]
    started = time.monotonic()
    diff = line_diff("\n".join(lines), "\n".join(shuffled))
    assert time.monotonic() - started < 5
    assert not diff.exact and diff.truncated and sum(len(h.lines) for h in diff.hunks) == MAX_SHOWN_LINES
    assert (diff.added, diff.removed) == (59_999, 59_999)  # the first line is the same in both


def test_the_diff_page_compares_any_two_versions_escaped(alice, alice_id, world, dave) -> None:
    spec = world["spec"]["id"]
    tool(alice_id, "update_spec", spec=spec, content=f"# Second draft\n\nWith *details*.\n{HOSTILE}", title="Apollo v3")
    page = client_for(dave).get(f"/specs/{spec}/diff/")  # default: the latest against the one before; viewers read
    body = page.content.decode()
    assert page.status_code == 200 and 'id="diff"' in body
    assert '<tr class="diff-added">' in body and "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in body
    assert "<script>alert" not in body and "<img src=x" not in body
    assert "Apollo spec</del>" in body and "Apollo v3</ins>" in body
    # Any two versions, either way round; the picker offers all three.
    body = client_for(alice).get(f"/specs/{spec}/diff/?old=3&new=1").content.decode()
    assert '<tr class="diff-removed">' in body and "First draft" in body
    assert body.count('<option value="') == 6
    # A version that does not exist, or garbage, is a 400 with the picker's error.
    for query in ("old=1&new=9", "old=x&new=1", "old=1"):
        response = client_for(alice).get(f"/specs/{spec}/diff/?{query}")
        assert response.status_code == 400 and 'class="errorlist' in response.content.decode(), query
    assert client_for(alice).get(f"/specs/{spec}/diff/?old=2&new=2").status_code == 200
