"""Agents: the list, one agent's page, and the forms people create, edit, archive and
restore them with, through the services the agent tools call (tools.agents.services;
plan limits and audit rows included). Owners, admins and members change agents;
viewers read."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.db.models import prefetch_related_objects
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.views.decorators.http import require_POST

from dashboard.context import organization_required, person_actor, writer_required
from dashboard.workplace.common import FilterForm, choice_field, or_404, page, page_of, project_choices
from orchestra.errors import NotFound, ToolError
from tools.agents import services
from tools.agents.models import Agent, AgentStatus, MemoryScope
from tools.agents.selectors import agent_activity, agent_get, agent_list, agent_memory_stats
from tools.projects.selectors import project_get
from tools.tasks.selectors import OPEN, Assignee, task_list

# An agent's page lists this many of its open tasks, most urgent first.
ASSIGNED_SHOWN = 20
# The agent tools' bounds (tools/agents/tools.py).
NAME_MAX = 120
ROLE_MAX = 120
MODEL_MAX = 120
SKILL_MAX = 80
DESCRIPTION_MAX = 20_000
SCOPE_CHOICES = [
    (MemoryScope.PRIVATE, "Private: its own memories, plus project and organization ones"),
    (MemoryScope.PROJECT, "Project: everything of its project"),
    (MemoryScope.ORGANIZATION, "Organization: everything"),
]


class AgentForm(forms.Form):
    name = forms.CharField(max_length=NAME_MAX, label="Name")
    role = forms.CharField(max_length=ROLE_MAX, required=False, label="Role", help_text="What it does, in a few words.")
    skills = forms.CharField(
        max_length=services.MAX_SKILLS * (SKILL_MAX + 2),
        required=False,
        label="Skills",
        help_text=f"Separated by commas; at most {services.MAX_SKILLS}.",
    )
    memory_scope = forms.ChoiceField(choices=SCOPE_CHOICES, initial=MemoryScope.PRIVATE, label="Memory searches cover")
    description = forms.CharField(
        max_length=DESCRIPTION_MAX, required=False, label="Description", widget=forms.Textarea(attrs={"rows": 4})
    )

    def __init__(self, *args: Any, agent: Agent | None = None, **kwargs: Any) -> None:
        if agent is not None and not args:
            kwargs["initial"] = {
                "name": agent.name,
                "role": agent.role,
                "skills": ", ".join(agent.skills),
                "memory_scope": agent.memory_scope,
                "description": agent.description,
            }
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)

    def clean_name(self) -> str:
        name = str(self.cleaned_data["name"]).strip()
        if not name:
            raise forms.ValidationError("Give the agent a name.")
        return name

    def clean_skills(self) -> list[str]:
        skills = [s.strip() for s in str(self.cleaned_data.get("skills") or "").split(",") if s.strip()]
        if too_long := [s for s in skills if len(s) > SKILL_MAX]:
            raise forms.ValidationError(f"A skill has at most {SKILL_MAX} characters: “{too_long[0][:60]}…” is longer.")
        if len(set(skills)) > services.MAX_SKILLS:
            raise forms.ValidationError(f"At most {services.MAX_SKILLS} skills.")
        return skills


class NewAgentForm(AgentForm):
    """Creating: also the project it works in and the model it runs on (both fixed after)."""

    project = forms.ChoiceField(required=False, label="Project")
    model = forms.CharField(max_length=MODEL_MAX, required=False, label="Model", help_text="Optional.")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["project"]
        assert isinstance(field, forms.ChoiceField)
        field.choices = [("", "None (the whole organization)"), *project_choices()[1:]]

    def clean_project(self) -> Any:
        ref = self.cleaned_data.get("project") or ""
        if not ref:
            return None
        try:
            return project_get(ref)
        except NotFound as exc:
            raise forms.ValidationError("no such project") from exc


class AgentFilters(FilterForm):
    status = choice_field("Status", [(AgentStatus.ARCHIVED, "Archived")], everything="Active")


@organization_required
def agent_index(request: HttpRequest) -> HttpResponse:
    form = AgentFilters(request.GET)
    if not form.is_valid():
        return page(request, "web/dashboard/agents/list.html", "agents", {"form": form, "rows": []}, status=400)
    status = form.cleaned_data["status"] or AgentStatus.ACTIVE
    rows = page_of(request, agent_list(status=status))
    return page(
        request,
        "web/dashboard/agents/list.html",
        "agents",
        {"form": form, "rows": rows.items, "next_cursor": rows.next_cursor, "status": status},
    )


@organization_required
def agent_detail(request: HttpRequest, ref: str) -> HttpResponse:
    agent = or_404(agent_get, ref)
    activity = agent_activity(agent)
    prefetch_related_objects(activity, "actor_user", "agent", "project")
    assigned = (
        task_list(assignee=Assignee(agent=agent), statuses=OPEN)
        .select_related("project")
        .order_by("priority_rank", "created_at", "id")[:ASSIGNED_SHOWN]
    )
    return page(
        request,
        "web/dashboard/agents/detail.html",
        "agents",
        {"agent": agent, "memory": agent_memory_stats(agent), "activities": activity, "assigned": list(assigned)},
    )


@writer_required
def agent_create(request: HttpRequest) -> HttpResponse:
    form = NewAgentForm(request.POST) if request.method == "POST" else NewAgentForm()
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            agent = services.agent_create(
                actor=person_actor(request),
                name=data["name"],
                role=data["role"],
                skills=data["skills"],
                memory_scope=data["memory_scope"],
                project=data["project"],
                description=data["description"],
                model=data["model"].strip(),
            )
        except ToolError as exc:  # the plan's agent limit, a project scope without a project...
            form.add_error(None, exc.message)
        else:
            messages.success(request, f"Created the agent “{agent.name}” ({agent.slug}).")
            return redirect("web:agent", agent.slug)
    status = 400 if request.method == "POST" else 200
    return page(request, "web/dashboard/agents/form.html", "agents", {"form": form, "agent": None}, status=status)


@writer_required
def agent_edit(request: HttpRequest, ref: str) -> HttpResponse:
    agent = or_404(agent_get, ref)
    form = AgentForm(request.POST) if request.method == "POST" else AgentForm(agent=agent)
    if request.method == "POST" and form.is_valid():
        # Only what differs: an unchanged form writes nothing and no activity row.
        changes = {name: value for name, value in form.cleaned_data.items() if getattr(agent, name) != value}
        try:
            if changes:
                services.agent_update(actor=person_actor(request), agent=agent, **changes)
        except ToolError as exc:
            form.add_error(None, exc.message)
        else:
            messages.success(request, "Saved." if changes else "Nothing changed.")
            return redirect("web:agent", agent.slug)
    status = 400 if request.method == "POST" else 200
    return page(request, "web/dashboard/agents/form.html", "agents", {"form": form, "agent": agent}, status=status)


class StatusForm(forms.Form):
    status = forms.ChoiceField(choices=AgentStatus.choices)


@require_POST
@writer_required
def agent_status(request: HttpRequest, ref: str) -> HttpResponse:
    """Archive an agent (it stays, with its history, out of the active list) or restore it."""
    agent = or_404(agent_get, ref)
    form = StatusForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Choose archive or restore.")
        return redirect("web:agent", agent.slug)
    status = form.cleaned_data["status"]
    if status != agent.status:
        services.agent_update(actor=person_actor(request), agent=agent, status=status)
        done = "Archived" if status == AgentStatus.ARCHIVED else "Restored"
        messages.success(request, f"{done} “{agent.name}”.")
    return redirect("web:agent", agent.slug)
