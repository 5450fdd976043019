"""The dashboard: pages over what agents wrote, and the forms people change it with."""

from django.urls import path

from dashboard.workplace import (
    activity,
    agents,
    decisions,
    features,
    memories,
    notes,
    overview,
    projects,
    specs,
    task_actions,
    tasks,
)

urlpatterns = [
    path("", overview.home, name="home"),
    path("projects/", projects.project_index, name="projects"),
    path("projects/<str:ref>/", projects.project_detail, name="project"),
    path("projects/<str:ref>/specs/", specs.project_specs, name="project-specs"),
    path("projects/<str:ref>/tasks/new/", task_actions.task_create, name="task-create"),
    path("tasks/<str:ref>/", tasks.task_detail, name="task"),
    path("tasks/<str:ref>/edit/", task_actions.task_edit, name="task-edit"),
    path("tasks/<str:ref>/status/", task_actions.task_move, name="task-move"),
    path("tasks/<str:ref>/complete/", task_actions.task_complete, name="task-complete"),
    path("tasks/<str:ref>/delete/", task_actions.task_delete, name="task-delete"),
    path("agents/", agents.agent_index, name="agents"),
    path("agents/new/", agents.agent_create, name="agent-create"),
    path("agents/<str:ref>/", agents.agent_detail, name="agent"),
    path("agents/<str:ref>/edit/", agents.agent_edit, name="agent-edit"),
    path("agents/<str:ref>/status/", agents.agent_status, name="agent-status"),
    path("specs/<str:ref>/", specs.spec_detail, name="spec"),
    path("specs/<str:ref>/versions/<int:number>/", specs.spec_detail, name="spec-version"),
    path("memories/", memories.memory_index, name="memories"),
    path("memories/duplicates/", memories.memory_duplicates, name="memory-duplicates"),
    path("memories/<str:ref>/", memories.memory_detail, name="memory"),
    path("decisions/", decisions.decision_index, name="decisions"),
    path("decisions/<str:ref>/", decisions.decision_detail, name="decision"),
    path("features/", features.feature_index, name="features"),
    path("features/<str:ref>/", features.feature_detail, name="feature"),
    path("notes/", notes.note_index, name="notes"),
    path("notes/<str:ref>/", notes.note_detail, name="note"),
    path("activity/", activity.activity_index, name="activity"),
]
