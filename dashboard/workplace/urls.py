"""The dashboard: read-only pages over what agents wrote (they write through tools)."""

from django.urls import path

from dashboard.workplace import (
    activity,
    decisions,
    features,
    memories,
    notes,
    overview,
    projects,
    search,
    specs,
    tasks,
)

urlpatterns = [
    path("", overview.home, name="home"),
    path("projects/", projects.project_index, name="projects"),
    path("projects/<str:ref>/", projects.project_detail, name="project"),
    path("projects/<str:ref>/specs/", specs.project_specs, name="project-specs"),
    path("tasks/<str:ref>/", tasks.task_detail, name="task"),
    path("specs/", specs.spec_index, name="specs"),
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
    path("search/", search.search_page, name="search"),
]
