"""The project scope of the tenant managers: a query that forgets the restriction still
cannot reach another project, paths that skip the default manager (forward foreign
keys, select_related, cascades) fail closed, and no write can leave the project."""

from __future__ import annotations

from typing import Any

import pytest
from django.apps import apps
from django.core.exceptions import ObjectDoesNotExist

from memory.models import Memory
from orchestra.tenancy import ProjectScopeError, ScopedBaseManager, TenantModel, project_scope, tenant_scope
from tools.agents.models import Agent
from tools.projects.models import Project
from tools.specs.models import Spec, SpecVersion
from tools.tasks.models import Task
from tools.worksessions.models import WorkSession


@pytest.fixture
def rows(acme) -> dict[str, Any]:
    """Two projects with a task, an agent and a session each, and an organization-level agent."""
    with tenant_scope(acme):
        made: dict[str, Any] = {}
        for key in ("p1", "p2"):
            project = Project.objects.create(organization=acme, name=key, slug=key)
            made[key] = project
            made[f"{key}_task"] = Task.objects.create(organization=acme, project=project, title=f"{key} task")
            made[f"{key}_agent"] = Agent.objects.create(organization=acme, project=project, name=key, slug=f"{key}-a")
            made[f"{key}_session"] = WorkSession.objects.create(organization=acme, project=project, title=key)
            spec = Spec.objects.create(organization=acme, project=project, title=key, slug=f"{key}-spec")
            made[f"{key}_version"] = SpecVersion.objects.create(organization=acme, spec=spec, number=1, title=key)
        made["org_agent"] = Agent.objects.create(organization=acme, name="everyone", slug="everyone")
    return made


def test_every_tenant_model_declares_its_project_and_uses_the_scoped_base_manager() -> None:
    for model in apps.get_models():
        if issubclass(model, TenantModel):
            assert model.PROJECT_PATHS is not None, f"{model.__name__} says nothing of its project"
            assert isinstance(model._base_manager, ScopedBaseManager), model.__name__


def test_a_query_that_forgets_the_restriction_stays_in_the_project(acme, rows) -> None:
    with tenant_scope(acme), project_scope(rows["p1"]):
        assert list(Task.objects.all()) == [rows["p1_task"]]
        assert list(Project.objects.all()) == [rows["p1"]]
        assert set(Agent.objects.all()) == {rows["p1_agent"], rows["org_agent"]}
        assert list(SpecVersion.objects.all()) == [rows["p1_version"]]
        assert not Task.objects.filter(pk=rows["p2_task"].pk).exists()
    with tenant_scope(acme):  # without the restriction, everything of the organization
        assert Task.objects.count() == 2


def test_forward_keys_and_select_related_fail_closed(acme, rows) -> None:
    """A row whose key points into another project (written without a restriction)
    never shows the other project's row: following the key fails like a missing row."""
    with tenant_scope(acme):
        memory = Memory.objects.create(
            organization=acme, scope="project", project=rows["p1"], session=rows["p2_session"], content="x"
        )
    with tenant_scope(acme), project_scope(rows["p1"]):
        loaded = Memory.objects.get(pk=memory.pk)
        with pytest.raises(ObjectDoesNotExist):
            _ = loaded.session
        joined = Memory.objects.select_related("session", "project").get(pk=memory.pk)
        assert joined.project == rows["p1"]
        with pytest.raises(ObjectDoesNotExist):
            _ = joined.session
        assert Task.scoped_base.filter(pk=rows["p2_task"].pk).count() == 0


def test_no_write_leaves_the_project(acme, rows) -> None:
    with tenant_scope(acme), project_scope(rows["p1"]):
        with pytest.raises(ProjectScopeError):
            Task.objects.create(organization=acme, project=rows["p2"], title="elsewhere")
        with pytest.raises(ProjectScopeError):
            Task.objects.bulk_create([Task(organization=acme, project=rows["p2"], title="bulk")])
        with pytest.raises(ProjectScopeError):
            Agent.objects.create(organization=acme, name="org-level", slug="org-level")
        with pytest.raises(ProjectScopeError):
            Task.objects.filter(pk=rows["p1_task"].pk).update(project=rows["p2"])
        moved = rows["p1_task"]
        moved.project = rows["p2"]
        with pytest.raises(ProjectScopeError):
            moved.save()
        # Organization-level agents are read, never written, whatever the path.
        assert Agent.objects.filter(pk=rows["org_agent"].pk).update(name="renamed") == 0
        assert Agent.objects.filter(pk=rows["org_agent"].pk).delete()[0] == 0
        with pytest.raises(ProjectScopeError):
            rows["org_agent"].save()
        with pytest.raises(ProjectScopeError):
            SpecVersion.objects.create(organization=acme, spec=rows["p2_version"].spec, number=2, title="v2")
        # Inside the project, writes go through.
        Task.objects.create(organization=acme, project=rows["p1"], title="here")
    with tenant_scope(acme):
        assert Agent.objects.get(pk=rows["org_agent"].pk).name == "everyone"
        assert Task.objects.filter(project=rows["p2"]).count() == 1


def test_a_restriction_can_only_narrow(acme, rows) -> None:
    with tenant_scope(acme), project_scope(rows["p1"]):
        with project_scope(None):  # "no restriction" inside a restriction keeps it
            assert Task.objects.count() == 1
        with tenant_scope(acme):
            assert Task.objects.count() == 1
        with pytest.raises(ProjectScopeError), project_scope(rows["p2"]):
            pass
