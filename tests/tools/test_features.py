"""The feature tools: workflows and gates, review requirements, history, isolation,
bad input, audit, query bounds."""

from __future__ import annotations

from typing import Any

import pytest

from accounts.auth import authenticate_token
from accounts.models import Role, User
from accounts.services import membership_set
from orchestra.tenancy import tenant_scope
from tests.conftest import error_code, ok
from tools.activity.models import Activity
from tools.agents.models import Agent
from tools.features.models import Feature, GateTransition, Review
from tools.features.workflows import WORKFLOWS
from tools.mcp.registry import get_tool

MISSING = "00000000-0000-4000-8000-000000000000"


@pytest.fixture
def apollo(call, alice_id, acme) -> dict[str, Any]:
    return ok(call(alice_id, "create_project", name="Apollo"))


@pytest.fixture
def bob_id(bob, acme, issue_token):
    return authenticate_token(issue_token(bob, acme))


@pytest.fixture
def carol_id(acme, issue_token):
    carol = User.objects.create_user("carol@example.com", "pw-carol-123456", name="Carol")
    membership_set(organization=acme, user=carol, role=Role.MEMBER)
    return authenticate_token(issue_token(carol, acme))


def feature(call, identity, title: str = "Login page", project: str = "apollo", **kwargs) -> dict[str, Any]:
    return ok(call(identity, "create_feature", title=title, project=project, **kwargs))


def advance(call, identity, ref: str, times: int = 1) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for _ in range(times):
        out = ok(call(identity, "advance_feature", feature=ref))
    return out


def review(call, identity, ref: str, verdict: str, comments: str = "", **kwargs) -> dict[str, Any]:
    return ok(call(identity, "submit_review", feature=ref, verdict=verdict, comments=comments, **kwargs))


def unmet_of(outcome) -> list[str]:
    assert error_code(outcome) == "requirements_unmet"
    return [u["requirement"] for u in outcome.structured["error"]["details"]["unmet"]]


def counts() -> tuple[int, int, int, int]:
    return (
        Feature.unscoped.count(),
        GateTransition.unscoped.count(),
        Review.unscoped.count(),
        Activity.unscoped.count(),
    )


def test_default_workflow_from_spec_to_done(call, alice_id, bob_id, carol_id, apollo) -> None:
    created = feature(call, alice_id, "Login page", description="Email and GitHub sign-in")
    assert created["slug"] == "login-page" and created["workflow"] == "default"
    assert (created["gate"], created["status"], created["progress"]) == ("spec", "in_progress", "0/6 spec")
    assert created["project_id"] == apollo["id"] and created["completed_at"] is None
    assert feature(call, alice_id, "Login page")["slug"] == "login-page-2"

    # spec, design and build have no requirements.
    at_review = advance(call, alice_id, "login-page", times=3)
    assert (at_review["gate"], at_review["progress"]) == ("review", "3/6 review")

    # The review gate: nothing reviewed yet.
    before = counts()
    blocked = call(alice_id, "advance_feature", feature="login-page")
    assert unmet_of(blocked) == ["approved_review"]
    assert blocked.structured["error"]["message"] == (
        "feature login-page cannot leave gate review: gate review needs an approved review"
    )
    assert blocked.structured["error"]["details"]["gate"] == "review"
    assert counts() == before  # a refused move writes nothing

    commented = review(call, alice_id, "login-page", "comment", "Looks tidy so far.")
    assert commented["gate"] == "review" and commented["verdict"] == "comment"
    assert [u["requirement"] for u in commented["unmet"]] == ["approved_review"]  # comments never count

    asked = review(call, bob_id, "login-page", "changes_requested", "Rate-limit the login form.")
    assert [u["requirement"] for u in asked["unmet"]] == ["approved_review", "changes_resolved"]
    blocked = call(alice_id, "advance_feature", feature="login-page")
    assert unmet_of(blocked) == ["approved_review", "changes_resolved"]
    message = blocked.structured["error"]["message"]
    assert "needs an approved review" in message and "changes requested by bob@example.com" in message
    assert blocked.structured["error"]["details"]["unmet"][1]["reviews"] == [asked["id"]]

    # Carol's approval does not clear Bob's request: only Bob can.
    approved = review(call, carol_id, "login-page", "approved")
    assert [u["requirement"] for u in approved["unmet"]] == ["changes_resolved"]
    assert unmet_of(call(alice_id, "advance_feature", feature="login-page")) == ["changes_resolved"]
    cleared = review(call, bob_id, "login-page", "approved", "Rate limit is in.")
    assert cleared["unmet"] == [] and cleared["reviewer_id"] == str(bob_id.user_id)

    at_qa = advance(call, bob_id, "login-page")
    assert (at_qa["gate"], at_qa["progress"], at_qa["status"]) == ("qa", "4/6 qa", "in_progress")
    finished = advance(call, alice_id, created["id"])
    assert (finished["gate"], finished["progress"], finished["status"]) == ("done", "6/6 done", "done")
    assert finished["completed_at"] is not None

    before = counts()
    again = call(alice_id, "advance_feature", feature="login-page")
    assert error_code(again) == "conflict"
    assert again.structured["error"]["message"] == "feature login-page is done: it has no gate after done"
    assert error_code(call(alice_id, "submit_review", feature="login-page", verdict="approved")) == "conflict"
    assert counts() == before

    detail = ok(call(alice_id, "get_feature", feature="login-page"))
    assert detail["description"] == "Email and GitHub sign-in" and detail["unmet"] == []
    assert [g["name"] for g in detail["gates"]] == ["spec", "design", "build", "review", "qa", "done"]
    assert [g["name"] for g in detail["gates"] if g["review"]] == ["review"]
    moves = [(h["from_gate"], h["to_gate"]) for h in detail["history"]]
    assert moves == [
        ("qa", "done"),
        ("review", "qa"),
        ("build", "review"),
        ("design", "build"),
        ("spec", "design"),
        (None, "spec"),
    ]
    assert detail["history"][1]["user_id"] == str(bob_id.user_id)
    assert [(r["verdict"], r["reviewer_id"]) for r in detail["reviews"]] == [
        ("approved", str(bob_id.user_id)),
        ("approved", str(carol_id.user_id)),
        ("changes_requested", str(bob_id.user_id)),
        ("comment", str(alice_id.user_id)),
    ]
    assert detail["reviews"][2]["comments"] == "Rate-limit the login form."


def test_a_later_request_for_changes_blocks_until_that_reviewer_approves(call, alice_id, bob_id, acme, apollo) -> None:
    with tenant_scope(acme):
        critic = Agent.objects.create(organization=acme, name="Critic", slug="critic")
    feature(call, alice_id, "Search", workflow="quick")
    advance(call, bob_id, "search")  # build -> review: Bob's work is what the gate reviews
    # Alice approves, then changes her mind: her latest verdict is what counts.
    review(call, alice_id, "search", "approved")
    review(call, alice_id, "search", "changes_requested", "Index the title too.")
    blocked = call(bob_id, "advance_feature", feature="search")
    assert unmet_of(blocked) == ["changes_resolved"]  # an approval exists; the request is what blocks

    # A reviewer is the user plus the agent named: Alice as "critic" is not Alice herself.
    via_agent = review(call, alice_id, "search", "changes_requested", "Add tests.", agent="critic")
    assert via_agent["agent_id"] == str(critic.pk)
    review(call, alice_id, "search", "approved", "Title indexed.")  # Alice without the agent
    message = call(bob_id, "advance_feature", feature="search").structured["error"]["message"]
    assert "changes requested by alice@example.com (agent critic) are outstanding" in message
    assert unmet_of(call(bob_id, "advance_feature", feature="search")) == ["changes_resolved"]
    review(call, alice_id, "search", "approved", agent=str(critic.pk))
    assert advance(call, bob_id, "search")["status"] == "done"


def test_custom_workflows_and_review_gates(call, alice_id, bob_id, apollo) -> None:
    gates = [
        {"name": "draft"},
        {"name": "security-review", "review": True},
        {"name": "legal", "review": True},
        {"name": "shipped", "review": False},
    ]
    created = feature(call, alice_id, "Payments", workflow=gates)
    assert (created["workflow"], created["gate"], created["progress"]) == ("custom", "draft", "0/4 draft")
    detail = ok(call(alice_id, "get_feature", feature="payments"))
    assert detail["gates"] == [
        {"name": "draft", "review": False, "self_review_allowed": False},
        {"name": "security-review", "review": True, "self_review_allowed": False},
        {"name": "legal", "review": True, "self_review_allowed": False},
        {"name": "shipped", "review": False, "self_review_allowed": False},
    ]

    # Reviews are taken at review gates only.
    before = counts()
    refused = call(bob_id, "submit_review", feature="payments", verdict="approved")
    assert error_code(refused) == "conflict"
    assert refused.structured["error"]["message"] == (
        "feature payments is at gate draft, which is not a review gate; its next review gate is security-review"
    )
    assert counts() == before

    advance(call, alice_id, "payments")
    assert unmet_of(call(alice_id, "advance_feature", feature="payments")) == ["approved_review"]
    assert review(call, bob_id, "payments", "approved")["gate"] == "security-review"
    assert advance(call, alice_id, "payments")["progress"] == "2/4 legal"
    # An approval of an earlier gate does not count at the next one.
    assert unmet_of(call(alice_id, "advance_feature", feature="payments")) == ["approved_review"]
    review(call, bob_id, "payments", "approved")
    shipped = advance(call, alice_id, "payments")
    assert (shipped["gate"], shipped["status"], shipped["progress"]) == ("shipped", "done", "4/4 shipped")

    quick = feature(call, alice_id, "Hotfix", workflow="quick")
    assert (quick["workflow"], quick["progress"]) == ("quick", "0/3 build")


def test_whoever_moved_a_feature_into_a_review_gate_cannot_review_it(call, alice_id, bob_id, acme, apollo) -> None:
    with tenant_scope(acme):
        Agent.objects.create(organization=acme, name="Critic", slug="critic")
    feature(call, alice_id, "Search", workflow="quick")
    advance(call, alice_id, "search")  # build -> review: Alice's work
    before = counts()
    for verdict, extra in (
        ("approved", {}),
        ("changes_requested", {"comments": "Needs more."}),
        ("approved", {"agent": "critic"}),  # an agent acts for its user: still Alice
    ):
        refused = call(alice_id, "submit_review", feature="search", verdict=verdict, **extra)
        assert error_code(refused) == "permission_denied"
        assert refused.structured["error"]["message"] == (
            "you moved feature search into gate review: another member must review it (you may comment); "
            "a workflow gate with self_review_allowed takes its author's review"
        )
        assert refused.structured["error"]["details"]["requirement"] == "another_reviewer"
    assert counts() == before  # refused reviews write nothing
    assert review(call, alice_id, "search", "comment", "Ready for eyes.")["unmet"][0]["requirement"] == (
        "approved_review"
    )
    assert unmet_of(call(alice_id, "advance_feature", feature="search")) == ["approved_review"]
    assert review(call, bob_id, "search", "approved")["unmet"] == []
    assert advance(call, alice_id, "search")["status"] == "done"


def test_the_gate_reviews_the_work_of_who_moved_it_there_not_the_creator(call, alice_id, bob_id, apollo) -> None:
    feature(call, alice_id, "Export", workflow="quick")  # created by Alice
    advance(call, bob_id, "export")  # moved into review by Bob: his work is reviewed
    assert error_code(call(bob_id, "submit_review", feature="export", verdict="approved")) == "permission_denied"
    assert review(call, alice_id, "export", "approved")["unmet"] == []
    assert advance(call, bob_id, "export")["status"] == "done"

    # A workflow that starts at a review gate reviews the creator's work (the start is theirs).
    gates = [{"name": "proposal", "review": True}, {"name": "accepted"}]
    feature(call, bob_id, "Idea", workflow=gates)
    assert error_code(call(bob_id, "submit_review", feature="idea", verdict="approved")) == "permission_denied"
    review(call, alice_id, "idea", "approved")
    assert advance(call, bob_id, "idea")["status"] == "done"


def test_approvals_by_the_gates_author_never_count(call, alice_id, bob_id, acme, apollo) -> None:
    """Reviews stored before the rule existed (written here as the old code wrote them)
    do not open the gate, and the author's old request for changes blocks nothing."""
    created = feature(call, alice_id, "Legacy", workflow="quick")
    advance(call, alice_id, "legacy")
    with tenant_scope(acme):
        row = Feature.objects.get(pk=created["id"])
        for verdict in ("changes_requested", "approved"):
            Review.objects.create(
                organization=acme, feature=row, gate="review", verdict=verdict, reviewer_id=alice_id.user_id
            )
    assert unmet_of(call(alice_id, "advance_feature", feature="legacy")) == ["approved_review"]
    detail = ok(call(alice_id, "get_feature", feature="legacy"))
    assert [u["requirement"] for u in detail["unmet"]] == ["approved_review"]
    review(call, bob_id, "legacy", "changes_requested", "One more test.")
    assert unmet_of(call(alice_id, "advance_feature", feature="legacy")) == ["approved_review", "changes_resolved"]
    review(call, bob_id, "legacy", "approved")
    assert advance(call, alice_id, "legacy")["status"] == "done"


def test_a_gate_with_self_review_allowed_takes_its_authors_review(call, alice_id, apollo) -> None:
    gates = [
        {"name": "build"},
        {"name": "review", "review": True, "self_review_allowed": True},
        {"name": "second-look", "review": True},
        {"name": "done"},
    ]
    created = feature(call, alice_id, "Solo", workflow=gates)
    detail = ok(call(alice_id, "get_feature", feature=created["id"]))
    assert [(g["name"], g["self_review_allowed"]) for g in detail["gates"]] == [
        ("build", False),
        ("review", True),
        ("second-look", False),
        ("done", False),
    ]
    advance(call, alice_id, "solo")
    assert review(call, alice_id, "solo", "approved")["unmet"] == []
    assert advance(call, alice_id, "solo")["gate"] == "second-look"
    # The flag belongs to the gate: the next review gate is closed to its author again.
    assert error_code(call(alice_id, "submit_review", feature="solo", verdict="approved")) == "permission_denied"

    # Named workflows leave it off.
    assert all(not g["self_review_allowed"] for gates in WORKFLOWS.values() for g in gates)
    feature(call, alice_id, "Team", workflow="default")
    team = ok(call(alice_id, "get_feature", feature="team"))["gates"]
    assert [g["self_review_allowed"] for g in team] == [False] * 6


def test_named_workflows_match_the_schema() -> None:
    schema = get_tool("create_feature").input_schema["properties"]["workflow"]
    assert schema["anyOf"][0]["enum"] == list(WORKFLOWS)
    assert schema["default"] == "default"
    assert [g["name"] for g in WORKFLOWS["default"]] == ["spec", "design", "build", "review", "qa", "done"]


def test_every_change_writes_one_activity_row(call, alice_id, bob_id, acme, apollo) -> None:
    with tenant_scope(acme):
        critic = Agent.objects.create(organization=acme, name="Critic", slug="critic")
    created = feature(call, alice_id, "F", workflow="quick")
    ok(call(bob_id, "advance_feature", feature="f"))  # Bob's work goes to review: Alice may review it
    review(call, alice_id, "f", "changes_requested", "No.", agent="critic")
    assert error_code(call(alice_id, "advance_feature", feature="f")) == "requirements_unmet"
    review(call, alice_id, "f", "approved", agent="critic")
    advance(call, alice_id, "f")
    ok(call(alice_id, "get_feature", feature="f"))  # reads write nothing
    ok(call(alice_id, "list_features"))
    rows = list(Activity.unscoped.filter(organization=acme, target_type="feature").order_by("created_at"))
    assert [(r.type, r.tool) for r in rows] == [
        ("feature.created", "create_feature"),
        ("feature.advanced", "advance_feature"),
        ("feature.reviewed", "submit_review"),
        ("feature.reviewed", "submit_review"),
        ("feature.advanced", "advance_feature"),
    ]
    assert all(str(r.target_id) == created["id"] and str(r.project_id) == created["project_id"] for r in rows)
    assert rows[0].actor_user_id == alice_id.user_id and rows[0].token_id == alice_id.token_id
    assert rows[2].agent_id == critic.pk and rows[2].metadata["verdict"] == "changes_requested"
    assert rows[4].metadata == {"from": "review", "to": "done", "status": "done"}


def test_list_filters_progress_and_pages(call, alice_id, bob_id, apollo, django_assert_max_num_queries) -> None:
    ok(call(alice_id, "create_project", name="Gemini"))
    login = feature(call, alice_id, "Login")
    search = feature(call, alice_id, "Search", project="gemini")
    advance(call, alice_id, "search", times=3)
    hotfix = feature(call, alice_id, "Hotfix", workflow="quick")
    advance(call, alice_id, "hotfix")
    review(call, bob_id, "hotfix", "approved")
    advance(call, alice_id, "hotfix")

    def listed(**filters) -> list[tuple[str, str]]:
        return [(f["slug"], f["progress"]) for f in ok(call(alice_id, "list_features", **filters))["items"]]

    assert listed() == [("hotfix", "3/3 done"), ("search", "3/6 review"), ("login", "0/6 spec")]
    assert listed(project="gemini") == [("search", "3/6 review")]
    assert listed(project=apollo["id"]) == [("hotfix", "3/3 done"), ("login", "0/6 spec")]
    assert listed(gate="review") == [("search", "3/6 review")]
    assert listed(status="done") == [("hotfix", "3/3 done")]
    assert listed(status="in_progress", gate="spec") == [("login", "0/6 spec")]
    assert listed(status="done", project="gemini") == []
    assert {login["id"], search["id"], hotfix["id"]} == {f["id"] for f in ok(call(alice_id, "list_features"))["items"]}

    for n in range(6):
        feature(call, alice_id, f"Page {n}")
    seen, cursor = [], None
    while True:
        with django_assert_max_num_queries(2):
            page = ok(call(alice_id, "list_features", limit=4, cursor=cursor))
        seen += [f["title"] for f in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == [f"Page {n}" for n in reversed(range(6))] + ["Hotfix", "Search", "Login"]
    assert error_code(call(alice_id, "list_features", cursor="!!bad!!")) == "invalid_arguments"


def test_features_by_gate_for_project_stats(call, alice_id, acme, apollo, django_assert_num_queries) -> None:
    from tools.features.selectors import features_by_gate
    from tools.projects.models import Project

    feature(call, alice_id, "A")
    feature(call, alice_id, "B")
    advance(call, alice_id, "b")
    feature(call, alice_id, "C", workflow="quick")
    ok(call(alice_id, "create_project", name="Empty"))
    with tenant_scope(acme):
        project = Project.objects.get(slug="apollo")
        with django_assert_num_queries(1):
            assert features_by_gate(project) == {"build": 1, "design": 1, "spec": 1}
        assert features_by_gate(Project.objects.get(slug="empty")) == {}


def test_get_feature_is_a_bounded_number_of_queries(call, alice_id, bob_id, apollo, django_assert_max_num_queries):
    feature(call, alice_id, "Big")
    advance(call, alice_id, "big", times=3)
    for n in range(30):
        # Bob asks for changes; Alice, who moved it into review, may only comment.
        review(call, bob_id if n % 3 else alice_id, "big", "changes_requested" if n % 3 else "comment", f"r{n}")
    with django_assert_max_num_queries(5):
        detail = ok(call(alice_id, "get_feature", feature="big"))
    assert len(detail["reviews"]) == 30 and len(detail["history"]) == 4
    assert [u["requirement"] for u in detail["unmet"]] == ["approved_review", "changes_resolved"]
    with django_assert_max_num_queries(5):
        ok(call(alice_id, "list_features", limit=100))


def test_another_organization_cannot_reach_features(call, alice_id, charlie_id, acme, globex, apollo) -> None:
    mine = feature(call, alice_id, "Secret plan", workflow="quick")
    before = counts()
    for ref in (mine["id"], "secret-plan"):
        missing_ref = MISSING if ref == mine["id"] else "no-such-feature"
        for tool, extra in (
            ("get_feature", {}),
            ("advance_feature", {}),
            ("submit_review", {"verdict": "approved"}),
        ):
            theirs = call(charlie_id, tool, feature=ref, **extra)
            missing = call(charlie_id, tool, feature=missing_ref, **extra)
            assert error_code(theirs) == error_code(missing) == "not_found"
            assert theirs.structured["error"]["message"] == f"feature not found: {ref}"
            assert missing.structured["error"]["message"] == f"feature not found: {missing_ref}"
    created = call(charlie_id, "create_feature", title="Steal", project="apollo")
    assert error_code(created) == "not_found" and created.structured["error"]["message"] == "project not found: apollo"
    assert error_code(call(charlie_id, "list_features", project=apollo["id"])) == "not_found"
    assert ok(call(charlie_id, "list_features"))["items"] == []
    assert counts() == before
    # Charlie's own feature may reuse the slug: slugs are unique per organization.
    ok(call(charlie_id, "create_project", name="Apollo"))
    assert feature(call, charlie_id, "Secret plan")["slug"] == "secret-plan"
    with tenant_scope(acme):
        assert Feature.objects.get(slug="secret-plan").gate == "build"


def test_project_restricted_token_sees_only_its_project(call, alice, acme, alice_id, issue_token, apollo) -> None:
    ok(call(alice_id, "create_project", name="Other"))
    feature(call, alice_id, "Mine")
    feature(call, alice_id, "Theirs", project="other")
    restricted = authenticate_token(issue_token(alice, acme, project_id=apollo["id"]))
    assert [f["slug"] for f in ok(call(restricted, "list_features"))["items"]] == ["mine"]
    assert error_code(call(restricted, "get_feature", feature="theirs")) == "not_found"
    assert error_code(call(restricted, "advance_feature", feature="theirs")) == "not_found"
    assert error_code(call(restricted, "create_feature", title="X", project="other")) == "not_found"
    assert advance(call, restricted, "mine")["gate"] == "design"


@pytest.mark.parametrize(
    "tool, arguments",
    [
        ("create_feature", {"title": "T"}),
        ("create_feature", {"project": "apollo"}),
        ("create_feature", {"title": "", "project": "apollo"}),
        ("create_feature", {"title": "   ", "project": "apollo"}),
        ("create_feature", {"title": "x" * 201, "project": "apollo"}),
        ("create_feature", {"title": "T", "project": "apollo", "description": "x" * 20_001}),
        ("create_feature", {"title": "T", "project": "apollo", "workflow": "waterfall"}),
        ("create_feature", {"title": "T", "project": "apollo", "workflow": [{"name": "only"}]}),
        ("create_feature", {"title": "T", "project": "apollo", "workflow": [{"name": f"g{n}"} for n in range(13)]}),
        ("create_feature", {"title": "T", "project": "apollo", "workflow": [{"name": "a"}, {"name": "a"}]}),
        ("create_feature", {"title": "T", "project": "apollo", "workflow": [{"name": "Bad Name"}, {"name": "b"}]}),
        ("create_feature", {"title": "T", "project": "apollo", "workflow": [{"name": "a"}, {"name": "x" * 31}]}),
        ("create_feature", {"title": "T", "project": "apollo", "workflow": [{"name": "a"}, {"review": True}]}),
        (
            "create_feature",
            {"title": "T", "project": "apollo", "workflow": [{"name": "a"}, {"name": "b", "review": True}]},
        ),
        ("create_feature", {"title": "T", "project": "apollo", "workflow": [{"name": "a", "x": 1}, {"name": "b"}]}),
        (
            "create_feature",
            {
                "title": "T",
                "project": "apollo",
                "workflow": [{"name": "a", "self_review_allowed": True}, {"name": "b"}],
            },
        ),
        ("create_feature", {"title": "T", "project": "apollo", "unknown": 1}),
        ("advance_feature", {}),
        ("advance_feature", {"feature": "f", "agent": "critic"}),
        ("submit_review", {"feature": "f"}),
        ("submit_review", {"feature": "f", "verdict": "lgtm"}),
        ("submit_review", {"feature": "f", "verdict": "comment"}),
        ("submit_review", {"feature": "f", "verdict": "changes_requested", "comments": "   "}),
        ("submit_review", {"feature": "f", "verdict": "approved", "comments": "x" * 20_001}),
        ("list_features", {"limit": 0}),
        ("list_features", {"limit": 101}),
        ("list_features", {"status": "blocked"}),
        ("list_features", {"gate": "x" * 31}),
        ("get_feature", {}),
        ("get_feature", {"feature": ""}),
    ],
)
def test_bad_input_is_a_tool_error_that_writes_nothing(call, alice_id, apollo, tool, arguments) -> None:
    feature(call, alice_id, "F", workflow="quick")
    advance(call, alice_id, "f")  # at the review gate, where reviews are taken
    before = counts()
    state = list(Feature.unscoped.values("gate", "status"))
    outcome = call(alice_id, tool, **arguments)
    assert error_code(outcome) == "invalid_arguments"
    assert outcome.structured["error"]["message"]
    assert counts() == before and list(Feature.unscoped.values("gate", "status")) == state


def test_unknown_references_name_their_argument(call, alice_id, apollo) -> None:
    feature(call, alice_id, "F", workflow="quick")
    advance(call, alice_id, "f")
    before = counts()
    for tool, arguments, argument in (
        ("create_feature", {"title": "T", "project": "nope"}, "project"),
        ("submit_review", {"feature": "f", "verdict": "approved", "agent": "nobody"}, "agent"),
        ("list_features", {"project": MISSING}, "project"),
        ("get_feature", {"feature": MISSING}, "feature"),
    ):
        outcome = call(alice_id, tool, **arguments)
        assert error_code(outcome) == "not_found"
        assert outcome.structured["error"]["details"]["argument"] == argument
    assert counts() == before


def test_read_only_token_cannot_change_features(call, alice, acme, alice_id, issue_token, apollo) -> None:
    feature(call, alice_id, "F")
    reader = authenticate_token(issue_token(alice, acme, scopes=["read"]))
    before = counts()
    assert error_code(call(reader, "create_feature", title="X", project="apollo")) == "permission_denied"
    assert error_code(call(reader, "advance_feature", feature="f")) == "permission_denied"
    assert error_code(call(reader, "submit_review", feature="f", verdict="approved")) == "permission_denied"
    assert counts() == before
    assert ok(call(reader, "get_feature", feature="f"))["gate"] == "spec"
