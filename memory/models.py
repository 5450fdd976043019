"""Memories: what agents learn, found again by meaning (pgvector) or by words (full text);
the base of every row found that way."""

from __future__ import annotations

import hashlib
from typing import ClassVar

from django.apps import apps
from django.conf import settings as django_settings
from django.contrib.postgres.fields import ArrayField
from django.contrib.postgres.indexes import GinIndex
from django.contrib.postgres.search import SearchVector, SearchVectorField
from django.db import models
from django.utils import timezone
from pgvector.django import HnswIndex, VectorField

from orchestra.ids import new_id
from orchestra.tenancy import TenantModel

# The local model's dimension. Another provider with other dimensions needs a
# migration of this column (and `manage.py reembed`).
EMBEDDING_DIMENSIONS = 384
MAX_CONTENT_BYTES = 64 * 1024


class Scope(models.TextChoices):
    AGENT = "agent"
    PROJECT = "project"
    SESSION = "session"
    ORGANIZATION = "organization"


# The field naming the owner of each scope (organization-scoped rows have none).
OWNER_FIELD: dict[str, str] = {Scope.AGENT: "agent", Scope.PROJECT: "project", Scope.SESSION: "session"}


class EmbeddingStatus(models.TextChoices):
    PENDING = "pending"
    READY = "ready"
    FAILED = "failed"


class Embedded(TenantModel):
    """A row found by meaning as well as by words (memories, decisions).

    The embedding pipeline (memory.tasks, memory.embedding_jobs) and the hybrid search
    (memory.search) work on any subclass: it adds its own `search_vector` (a generated
    full-text column), an HNSW cosine index on `embedding`, a GIN index on
    `search_vector`, and says which columns make its text."""

    # The columns `embedding_text` reads: loaded alone when a batch is embedded.
    EMBEDDING_FIELDS: tuple[str, ...] = ()
    # The rows a newer one replaced (search ranks them lower), as a condition the
    # database evaluates with the candidates. Every concrete model sets it.
    SUPERSEDED: ClassVar[models.Q]

    embedding = VectorField(dimensions=EMBEDDING_DIMENSIONS, null=True, blank=True)
    embedding_model = models.CharField(max_length=100, blank=True)
    embedding_status = models.CharField(max_length=8, choices=EmbeddingStatus.choices, default=EmbeddingStatus.PENDING)
    embedding_error = models.TextField(blank=True)
    # SHA-256 of the embedded text: an embedding is stored only if the text is unchanged.
    content_hash = models.CharField(max_length=64)

    class Meta(TenantModel.Meta):
        abstract = True

    def embedding_text(self) -> str:
        """The text the row is embedded from (and hashed: see content_hash)."""
        return embedding_text_of(*(getattr(self, name) for name in self.EMBEDDING_FIELDS))


def embedding_text_of(*parts: str) -> str:
    """The non-empty parts, a blank line apart: what an embedded row's text is made of."""
    return "\n\n".join(part for part in parts if part)


def text_hash(text: str) -> str:
    return hashlib.sha256(text.strip().encode()).hexdigest()


def embedded_models() -> list[type[Embedded]]:
    """Every concrete model the embedding pipeline serves."""
    return [m for m in apps.get_models() if issubclass(m, Embedded)]


def embedded_model(label: str) -> type[Embedded]:
    """The embedded model named by its label ("memory.Memory", "decisions.Decision")."""
    model = apps.get_model(label)
    if not issubclass(model, Embedded):
        raise LookupError(f"{label} is not an embedded model")
    return model


# The HNSW graph of every embedded model. Measured on 100,000 varied memories
# (bench/bench_memory.py): m=16, ef_construction=64 gave recall@10 0.856 at
# ef_search=100; m=24, ef_construction=200 gives 0.964 for 8.4 ms a query (the index
# builds in about a minute and is about 1.5 times the size).
HNSW_M = 24
HNSW_EF_CONSTRUCTION = 200
# What an answer leaves out when a memory has it (answers say so in their schema).
DEFAULT_IMPORTANCE = 5


class Memory(Embedded):
    PROJECT_PATHS = ("project_id", "agent__project_id", "session__project_id")

    EMBEDDING_FIELDS = ("content",)
    SUPERSEDED = models.Q(superseded_by__isnull=False)

    id = models.UUIDField(primary_key=True, default=new_id, editable=False)
    scope = models.CharField(max_length=12, choices=Scope.choices)
    agent = models.ForeignKey("agents.Agent", null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    project = models.ForeignKey("projects.Project", null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    session = models.ForeignKey(
        "worksessions.WorkSession", null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    content = models.TextField()
    tags = ArrayField(models.CharField(max_length=50), default=list, blank=True)
    importance = models.PositiveSmallIntegerField(default=DEFAULT_IMPORTANCE)  # 1 (trivia) .. 10 (critical)
    metadata = models.JSONField(default=dict, blank=True)
    # Kept by PostgreSQL itself, so every write path (tools, admin, bulk loads) agrees.
    search_vector = models.GeneratedField(
        expression=SearchVector("content", config="english"),
        output_field=SearchVectorField(),
        db_persist=True,
    )
    archived = models.BooleanField(default=False)
    # SHA-256 of the normalised content (memory.services.normalised_key): the store
    # finds an existing memory that differs only by case, spacing or Unicode form.
    content_key = models.CharField(max_length=64, blank=True, default="")
    # Set when the embedding task merged this memory into an older one of the same
    # scope that says the same (a cosine of at least memory.tasks.NEAR_DUPLICATE): it is
    # archived, and that one got its tags.
    duplicate_of = models.ForeignKey("self", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    # The store asked to keep it even if an existing memory says the same.
    keep_separate = models.BooleanField(default=False)
    # Time: the memory this one replaces (store_memory's `supersedes`), and on that one
    # the newest memory that replaced it. Search ranks a superseded memory lower and
    # says so.
    supersedes = models.ForeignKey("self", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    superseded_by = models.ForeignKey("self", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    author = models.ForeignKey(
        django_settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta(Embedded.Meta):
        verbose_name_plural = "memories"
        constraints = [
            # An exact duplicate in the same scope is stored once; NULLS NOT DISTINCT
            # makes scopes without an agent/project/session id count too.
            models.UniqueConstraint(
                fields=["organization", "scope", "agent", "project", "session", "content_hash"],
                name="memory_unique_content_per_scope",
                nulls_distinct=False,
            ),
            models.CheckConstraint(
                name="memory_importance_1_10", condition=models.Q(importance__gte=1, importance__lte=10)
            ),
        ]
        indexes = [
            HnswIndex(
                name="memory_embedding_hnsw",
                fields=["embedding"],
                m=HNSW_M,
                ef_construction=HNSW_EF_CONSTRUCTION,
                opclasses=["vector_cosine_ops"],
            ),
            GinIndex(fields=["search_vector"], name="memory_search_gin"),
            GinIndex(fields=["tags"], name="memory_tags_gin"),
            models.Index(fields=["organization", "scope", "-created_at"], name="memory_org_scope"),
            models.Index(fields=["organization", "project", "-created_at"], name="memory_org_project"),
            models.Index(fields=["organization", "agent", "-created_at"], name="memory_org_agent"),
            models.Index(fields=["organization", "session", "-created_at"], name="memory_org_session"),
            models.Index(fields=["created_at"], condition=models.Q(embedding_status="pending"), name="memory_pending"),
            models.Index(fields=["organization", "content_key"], name="memory_org_content_key"),
        ]

    def __str__(self) -> str:
        return self.content[:60]
