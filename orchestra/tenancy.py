"""Tenancy: which organization (and, for a project-restricted token, which project)
the current request or task acts in.

The organization comes from the MCP token (MCP, REST) or the dashboard session, and
is held in a context variable for the duration of the request or task. Every
tenant-owned model's default manager (`objects`) filters by it and raises when none
is in scope, so a forgotten filter fails closed instead of leaking another
organization's rows. Code that must look across organizations (admin, migrations,
periodic tasks, token authentication) says so by using the `unscoped` manager.

A project-restricted token adds a second scope, held the same way (`project_scope`).
While it is set, the managers themselves keep every query inside the project:
`objects` and the base manager (which forward foreign keys and deletion cascades
use) read only rows whose project (`TenantModel.PROJECT_PATHS`) is the scope's, rows
loaded through `select_related` from another project are dropped from the result
(touching them then fails like a missing row), and saving, updating, deleting or
bulk-creating a row outside the project raises ProjectScopeError. No call site has
to remember the restriction. docs/decisions/0011-project-scope.md lists every
tenant model, how its project is derived, and what a restricted token may do.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from contextvars import ContextVar
from typing import Any, ClassVar, Generic, TypeVar

from django.core.exceptions import ObjectDoesNotExist
from django.db import models
from django.db.models.query import ModelIterable

_current_org_id: ContextVar[Any] = ContextVar("orchestra_organization_id", default=None)
_current_project_id: ContextVar[Any] = ContextVar("orchestra_project_id", default=None)

M = TypeVar("M", bound=models.Model)


class TenantScopeError(RuntimeError):
    """A tenant-owned model was queried with no organization in scope."""


class ProjectScopeError(RuntimeError):
    """A write would leave the project a restricted caller is confined to."""


def current_organization_id() -> Any:
    """The id of the organization in scope; raises TenantScopeError if there is none."""
    org_id = _current_org_id.get()
    if org_id is None:
        raise TenantScopeError(
            "No organization in scope: wrap the code in tenant_scope(org) "
            "or use the model's `unscoped` manager on purpose."
        )
    return org_id


def current_project_id() -> Any:
    """The project the caller is restricted to, or None when it is not restricted."""
    return _current_project_id.get()


@contextlib.contextmanager
def tenant_scope(organization: Any) -> Iterator[None]:
    """Run the block inside `organization` (an Organization or its id)."""
    org_id = getattr(organization, "pk", organization)
    if org_id is None:
        raise TenantScopeError("tenant_scope needs an organization")
    token = _current_org_id.set(org_id)
    try:
        yield
    finally:
        _current_org_id.reset(token)


@contextlib.contextmanager
def project_scope(project: Any) -> Iterator[None]:
    """Confine the block to `project` (a Project, its id, or None for no restriction).

    A scope can only narrow: inside a restriction, None keeps it, and another project
    is refused, so no nested code can widen what the caller may reach."""
    project_id = getattr(project, "pk", project)
    outer = _current_project_id.get()
    if project_id is None:
        yield
        return
    if outer is not None and str(outer) != str(project_id):
        raise ProjectScopeError("a project scope cannot be switched to another project")
    token = _current_project_id.set(project_id)
    try:
        yield
    finally:
        _current_project_id.reset(token)


_OUT_OF_SCOPE = object()  # a row whose project could not be read: it is someone else's


class _ScopedModelIterable(ModelIterable):
    """Rows as Django builds them, minus related rows (select_related) that lie outside
    the project scope: they are forgotten, so touching them goes through the scoped
    base manager and fails like a missing row instead of showing another project."""

    def __iter__(self) -> Iterator[Any]:
        project_id = current_project_id()
        for row in super().__iter__():
            if project_id is not None:
                _forget_out_of_scope_relations(row, project_id)
            yield row


def _forget_out_of_scope_relations(row: models.Model, project_id: Any) -> None:
    cache = row._state.fields_cache
    for name, related in list(cache.items()):
        if isinstance(related, TenantModel):
            if not related.readable_in(project_id):
                del cache[name]
            else:
                _forget_out_of_scope_relations(related, project_id)


class TenantQuerySet(models.QuerySet[M], Generic[M]):
    """Writes through a queryset keep to the project scope, like saves do."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._iterable_class = _ScopedModelIterable

    def _writable(self) -> TenantQuerySet[M]:
        project_id = current_project_id()
        if project_id is None:
            return self
        model: Any = self.model
        return self.filter(model.project_condition(project_id, writing=True))

    def update(self, **kwargs: Any) -> int:
        project_id = current_project_id()
        if project_id is not None:
            model: Any = self.model
            for path in model.PROJECT_PATHS or ():
                field = path.removesuffix("_id")
                for name in (field, f"{field}_id"):
                    if name in kwargs and str(getattr(kwargs[name], "pk", kwargs[name])) != str(project_id):
                        raise ProjectScopeError(f"{model.__name__} rows cannot be moved out of the project")
        return super(TenantQuerySet, self._writable()).update(**kwargs)

    def delete(self) -> tuple[int, dict[str, int]]:
        return super(TenantQuerySet, self._writable()).delete()

    def bulk_create(self, objs: Any, *args: Any, **kwargs: Any) -> list[M]:
        objs = list(objs)
        for obj in objs:
            obj.check_project_scope()
        return super().bulk_create(objs, *args, **kwargs)


class TenantManager(models.Manager[M], Generic[M]):
    """Default manager of tenant-owned models: only the organization (and project) in scope."""

    def get_queryset(self) -> TenantQuerySet[M]:
        rows: TenantQuerySet[M] = TenantQuerySet(self.model, using=self._db)
        rows = rows.filter(organization_id=current_organization_id())
        return _in_project(rows)


class ScopedBaseManager(models.Manager[M], Generic[M]):
    """The base manager (forward foreign keys, cascades, refresh_from_db): any
    organization, as it follows rows that were already scoped, but never outside a
    project restriction."""

    def get_queryset(self) -> TenantQuerySet[M]:
        return _in_project(TenantQuerySet(self.model, using=self._db))


class UnscopedManager(models.Manager[M], Generic[M]):
    """Every row of every organization and project, on purpose (admin, periodic tasks)."""


def _in_project(rows: TenantQuerySet[M]) -> TenantQuerySet[M]:
    project_id = current_project_id()
    if project_id is None:
        return rows
    model: Any = rows.model
    return rows.filter(model.project_condition(project_id))


class TenantModel(models.Model):
    """Base for rows that belong to one organization.

    PROJECT_PATHS are the lookups from a row to its project's id (the first that is set
    names it). Every concrete model must say: `()` declares rows of no project
    (organization-level only), which no restricted caller can reach. With
    ORGANIZATION_LEVEL_READABLE, rows of no project stay readable (not writable) to a
    restricted caller: organization-level agents, to whom its tasks may be assigned."""

    PROJECT_PATHS: ClassVar[tuple[str, ...] | None] = None  # None: not declared (a test refuses it)
    ORGANIZATION_LEVEL_READABLE: ClassVar[bool] = False

    organization = models.ForeignKey("accounts.Organization", on_delete=models.CASCADE, related_name="+", db_index=True)

    objects = TenantManager()
    unscoped = UnscopedManager()
    scoped_base = ScopedBaseManager()

    class Meta:
        abstract = True
        # Related-object access and deletion cascades go through the base manager:
        # they follow foreign keys from rows that were already scoped, inside the
        # project scope if there is one.
        base_manager_name = "scoped_base"

    def save(self, *args: Any, **kwargs: Any) -> None:
        self.check_project_scope()
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> tuple[int, dict[str, int]]:
        self.check_project_scope()
        return super().delete(*args, **kwargs)

    @classmethod
    def project_condition(cls, project_id: Any, *, writing: bool = False) -> models.Q:
        """The rows of `project_id` (for reading, also those of no project where allowed)."""
        if not cls.PROJECT_PATHS:  # organization-level rows (or undeclared): none
            return models.Q(pk__in=[])
        condition = models.Q()
        for path in cls.PROJECT_PATHS:
            condition |= models.Q(**{path: project_id})
        if cls.ORGANIZATION_LEVEL_READABLE and not writing:
            condition |= models.Q(**{path: None for path in cls.PROJECT_PATHS})
        return condition

    def project_id_in_scope(self) -> Any:
        """This row's project id, None for a row of no project, or a marker when the
        project lies behind a row the scope cannot read."""
        for path in self.PROJECT_PATHS or ():
            value = self._follow(path)
            if value is not None:
                return value
        return None

    def _follow(self, path: str) -> Any:
        if path == "pk":
            return self.pk
        *hops, last = path.split("__")
        row: Any = self
        for hop in hops:
            try:
                row = getattr(row, hop)
            except ObjectDoesNotExist:
                return _OUT_OF_SCOPE
            if row is None:
                return None
        return getattr(row, last)

    def readable_in(self, project_id: Any) -> bool:
        own = self.project_id_in_scope()
        if own is None:
            return self.ORGANIZATION_LEVEL_READABLE
        return own is not _OUT_OF_SCOPE and str(own) == str(project_id)

    def check_project_scope(self) -> None:
        """Raise ProjectScopeError if a restricted caller may not write this row."""
        project_id = current_project_id()
        if project_id is None:
            return
        own = self.project_id_in_scope()
        if own is None or own is _OUT_OF_SCOPE or str(own) != str(project_id):
            raise ProjectScopeError(f"{type(self).__name__} {self.pk} lies outside the caller's project")
