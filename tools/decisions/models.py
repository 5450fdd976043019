"""Decisions: what was decided, why, and what was not chosen; found by meaning and by
words like memories (memory.models.Embedded), with an append-only discussion."""

from __future__ import annotations

from typing import Any

from django.conf import settings as django_settings
from django.contrib.postgres.fields import ArrayField
from django.contrib.postgres.indexes import GinIndex
from django.contrib.postgres.search import SearchVector, SearchVectorField
from django.db import models
from django.utils import timezone
from pgvector.django import HnswIndex

from memory.models import HNSW_EF_CONSTRUCTION, HNSW_M, Embedded, embedding_text_of
from orchestra.ids import new_id
from orchestra.tenancy import TenantModel


class DecisionStatus(models.TextChoices):
    PROPOSED = "proposed"
    ACCEPTED = "accepted"
    SUPERSEDED = "superseded"
    REJECTED = "rejected"


# Where each status may go. superseded and rejected are final: a decision taken again
# is a new decision (log_decision with `supersedes`), so the history stays readable.
TRANSITIONS: dict[str, frozenset[str]] = {
    DecisionStatus.PROPOSED: frozenset({DecisionStatus.ACCEPTED, DecisionStatus.REJECTED, DecisionStatus.SUPERSEDED}),
    DecisionStatus.ACCEPTED: frozenset({DecisionStatus.SUPERSEDED}),
    DecisionStatus.SUPERSEDED: frozenset(),
    DecisionStatus.REJECTED: frozenset(),
}


class Decision(Embedded):
    """One decision. `alternatives` is a list of {"option", "why_not"}. The text that is
    embedded and searched is title, decision, rationale and context: it never changes
    after the decision is logged (update_decision changes status, outcome, discussion)."""

    PROJECT_PATHS = ("project_id",)

    EMBEDDING_FIELDS = ("title", "decision", "rationale", "context")
    SUPERSEDED = models.Q(status=DecisionStatus.SUPERSEDED)

    id = models.UUIDField(primary_key=True, default=new_id, editable=False)
    project = models.ForeignKey("projects.Project", null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    title = models.CharField(max_length=200)
    decision = models.TextField()
    rationale = models.TextField(blank=True)
    context = models.TextField(blank=True)
    alternatives = models.JSONField(default=list, blank=True)
    status = models.CharField(max_length=10, choices=DecisionStatus.choices, default=DecisionStatus.PROPOSED)
    outcome = models.TextField(blank=True)
    tags = ArrayField(models.CharField(max_length=50), default=list, blank=True)
    # One successor at most (a one-to-one): the decision this one replaced. Set only once
    # the replacement is in effect, that is when this decision is (or becomes) accepted.
    supersedes = models.OneToOneField(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="superseded_by"
    )
    # The decision this one will replace once accepted, while it is only proposed: several
    # proposals may compete to replace the same decision, and the first accepted wins.
    # Cleared when it takes effect (moved to `supersedes`) or when this one is rejected or
    # superseded; the old decision is never touched before then.
    pending_supersedes = models.ForeignKey("self", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    # The words of the alternatives and of the discussion, for the keyword half of
    # search_decisions ("PCI" in a rejected option finds the decision). Written by the
    # services with the alternatives and with each discussion entry; not embedded: the
    # meaning of a decision is what was decided, not what was turned down.
    searchable_extra = models.TextField(blank=True, default="")
    # Kept by PostgreSQL itself; the title weighs most, then the decision, then the
    # rationale and context, then the alternatives and discussion.
    search_vector = models.GeneratedField(
        expression=SearchVector("title", weight="A", config="english")
        + SearchVector("decision", weight="B", config="english")
        + SearchVector("rationale", "context", weight="C", config="english")
        + SearchVector("searchable_extra", weight="D", config="english"),
        output_field=SearchVectorField(),
        db_persist=True,
    )
    author = models.ForeignKey(
        django_settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta(Embedded.Meta):
        indexes = [
            HnswIndex(
                name="decision_embedding_hnsw",
                fields=["embedding"],
                m=HNSW_M,
                ef_construction=HNSW_EF_CONSTRUCTION,
                opclasses=["vector_cosine_ops"],
            ),
            GinIndex(fields=["search_vector"], name="decision_search_gin"),
            GinIndex(fields=["tags"], name="decision_tags_gin"),
            models.Index(fields=["organization", "-created_at", "-id"], name="decision_org_created"),
            models.Index(fields=["organization", "project", "-created_at", "-id"], name="decision_org_project"),
            models.Index(fields=["organization", "status", "-created_at", "-id"], name="decision_org_status"),
            models.Index(
                fields=["created_at"], condition=models.Q(embedding_status="pending"), name="decision_pending"
            ),
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(pending_supersedes__isnull=True) | models.Q(status=DecisionStatus.PROPOSED),
                name="decision_pending_supersession_only_while_proposed",
            ),
        ]

    def __str__(self) -> str:
        return self.title


def alternatives_text(alternatives: list[dict[str, str]]) -> str:
    """The alternatives as searchable text: each option and why it was not taken."""
    return "\n".join(f"{item['option']}: {item['why_not']}" for item in alternatives)


def decision_text(*, title: str, decision: str, rationale: str, context: str) -> str:
    """The text a decision is embedded from (and hashed: see Embedded.content_hash)."""
    return embedding_text_of(title, decision, rationale, context)


class DecisionComment(TenantModel):
    """One discussion entry. Entries are only ever added: there is no update path, and
    save() refuses to write an existing row."""

    PROJECT_PATHS = ("decision__project_id",)

    id = models.UUIDField(primary_key=True, default=new_id, editable=False)
    decision = models.ForeignKey(Decision, on_delete=models.CASCADE, related_name="comments")
    author = models.ForeignKey(
        django_settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    agent = models.ForeignKey("agents.Agent", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    text = models.TextField()
    created_at = models.DateTimeField(default=timezone.now)

    class Meta(TenantModel.Meta):
        indexes = [models.Index(fields=["decision", "created_at", "id"], name="decision_comment_order")]

    def __str__(self) -> str:
        return self.text[:60]

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self._state.adding:
            raise ValueError("discussion entries are append-only")
        super().save(*args, **kwargs)
