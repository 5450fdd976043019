"""Export and import for owners: ask for an export (built in the background, linked
when ready, until it expires), download it, upload an export to import (run in the
background; its outcome, with the numbers of bad lines, shows on the page)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib import messages
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from accounts.models import Role
from dashboard.context import person_actor, role_required
from orchestra.errors import ToolError
from orchestra.ids import parse_uuid
from orchestra.tenancy import current_organization_id
from portability.models import ExportJob, ImportJob
from portability.services import export_download_path, export_request, import_request
from tools.projects.models import Project

RECENT = 10


@never_cache
@role_required(Role.OWNER)
def page(request: HttpRequest) -> HttpResponse:
    org_id = current_organization_id()
    context = {
        "section": "portability",
        "projects": Project.objects.order_by("name").only("id", "name"),
        "exports": ExportJob.objects.filter(organization_id=org_id).order_by("-created_at")[:RECENT],
        "imports": ImportJob.objects.filter(organization_id=org_id).order_by("-created_at")[:RECENT],
        "max_upload_mb": settings.PORTABILITY_UPLOAD_MAX_BYTES // (1024 * 1024),
        "expiry_hours": settings.PORTABILITY_EXPORT_EXPIRY_HOURS,
    }
    return render(request, "web/portability/page.html", context)


@require_POST
@role_required(Role.OWNER)
def export(request: HttpRequest) -> HttpResponse:
    project_id = None
    wanted = request.POST.get("project", "")
    if wanted:
        # Only a project of this organization (the scoped manager sees no other).
        project = Project.objects.filter(pk=wanted).first() if parse_uuid(wanted) else None
        if project is None:
            messages.error(request, "That project is not one of this organization's.")
            return redirect("web:portability")
        project_id = project.pk
    export_request(
        organization=request.organization,  # type: ignore[attr-defined]
        actor=person_actor(request),
        project_id=project_id,
        with_vectors=request.POST.get("with_vectors") == "on",
    )
    messages.success(request, "The export is being built: its download link appears below when it is ready.")
    return redirect("web:portability")


@role_required(Role.OWNER)
def download(request: HttpRequest, job_id: str) -> HttpResponse:
    # Another organization's export answers exactly like a missing one.
    job = ExportJob.objects.filter(pk=job_id, organization_id=current_organization_id()).first()
    path = export_download_path(job) if job is not None else None
    if job is None or path is None:
        raise Http404("no such export, or it has expired")
    name = f"orchestra-{request.organization.slug}-{job.created_at:%Y%m%d-%H%M}.jsonl"  # type: ignore[attr-defined]
    # Streamed from the file (a FileResponse is a streaming response, not an HttpResponse).
    response: Any = FileResponse(path.open("rb"), as_attachment=True, filename=name, content_type="application/jsonl")
    return response


@require_POST
@role_required(Role.OWNER)
def import_upload(request: HttpRequest) -> HttpResponse:
    upload = request.FILES.get("file")
    if upload is None:
        messages.error(request, "Choose an export file to import.")
        return redirect("web:portability")
    try:
        import_request(
            organization=request.organization,  # type: ignore[attr-defined]
            actor=person_actor(request),
            upload=upload,
            dry_run=request.POST.get("dry_run") == "on",
        )
    except ToolError as exc:
        messages.error(request, str(exc))
        return redirect("web:portability")
    messages.success(request, "The file is being imported: its outcome appears below.")
    return redirect("web:portability")
