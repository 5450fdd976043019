"""The dashboard: pages over what agents wrote, and the forms people act with (through
the same services as the tools)."""

from django.urls import path

from dashboard.workplace import activity, decisions, features, memories, notes, overview, projects, specs, tasks
from dashboard.workplace.preview import markdown_preview

urlpatterns = [
    path("", overview.home, name="home"),
    path("projects/", projects.project_index, name="projects"),
    path("projects/<str:ref>/", projects.project_detail, name="project"),
    path("projects/<str:ref>/specs/", specs.project_specs, name="project-specs"),
    path("projects/<str:ref>/specs/new/", specs.spec_new, name="spec-new"),
    path("tasks/<str:ref>/", tasks.task_detail, name="task"),
    path("specs/<str:ref>/", specs.spec_detail, name="spec"),
    path("specs/<str:ref>/versions/<int:number>/", specs.spec_detail, name="spec-version"),
    path("specs/<str:ref>/edit/", specs.spec_edit, name="spec-edit"),
    path("specs/<str:ref>/diff/", specs.spec_diff, name="spec-diff"),
    path("memories/", memories.memory_index, name="memories"),
    path("memories/duplicates/", memories.memory_duplicates, name="memory-duplicates"),
    path("memories/<str:ref>/", memories.memory_detail, name="memory"),
    path("memories/<str:ref>/delete/", memories.memory_delete_view, name="memory-delete"),
    path("memories/<str:ref>/supersede/", memories.memory_supersede_view, name="memory-supersede"),
    path("decisions/", decisions.decision_index, name="decisions"),
    path("decisions/<str:ref>/", decisions.decision_detail, name="decision"),
    path("decisions/<str:ref>/status/", decisions.decision_status, name="decision-status"),
    path("decisions/<str:ref>/discussion/", decisions.decision_comment, name="decision-comment"),
    path("features/", features.feature_index, name="features"),
    path("features/<str:ref>/", features.feature_detail, name="feature"),
    path("features/<str:ref>/advance/", features.feature_advance_view, name="feature-advance"),
    path("features/<str:ref>/review/", features.feature_review, name="feature-review"),
    path("notes/", notes.note_index, name="notes"),
    path("notes/new/", notes.note_new, name="note-new"),
    path("notes/<str:ref>/", notes.note_detail, name="note"),
    path("notes/<str:ref>/edit/", notes.note_edit, name="note-edit"),
    path("markdown/preview/", markdown_preview, name="markdown-preview"),
    path("activity/", activity.activity_index, name="activity"),
]
