"""Forms of the people pages: organization, invitations, roles, tokens."""

from __future__ import annotations

import re
import uuid
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.core.validators import validate_email

from accounts.models import Membership, Organization, Role, TokenMode

ROLE_HELP = {
    Role.OWNER: "everything, including other owners",
    Role.ADMIN: "manages members, invitations and everyone's tokens",
    Role.MEMBER: "works with the tools; manages their own tokens",
    Role.VIEWER: "reads only; their tokens are read-only",
}


def role_choices(by: Membership) -> list[tuple[str, str]]:
    """Roles `by` may hand out: only owners make owners."""
    roles = Role.values if by.role == Role.OWNER else [r for r in Role.values if r != Role.OWNER]
    return [(r, r.capitalize()) for r in roles]


class OrganizationForm(forms.Form):
    name = forms.CharField(
        max_length=120,
        label="Organization name",
        help_text="Your team or company. You can invite people next.",
        error_messages={"required": "Give your organization a name."},
        widget=forms.TextInput(attrs={"autofocus": True, "placeholder": "Acme Inc."}),
    )

    def clean_name(self) -> str:
        name = str(self.cleaned_data["name"]).strip()
        if not name:
            raise ValidationError("Give your organization a name.")
        return name


class InviteForm(forms.Form):
    email = forms.EmailField(label="Email address", widget=forms.EmailInput(attrs={"placeholder": "name@example.com"}))
    role = forms.ChoiceField(initial=Role.MEMBER)

    def __init__(self, *args: Any, by: Membership, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["role"].choices = role_choices(by)  # type: ignore[attr-defined]


class InviteManyForm(forms.Form):
    """Onboarding: several addresses at once, one role."""

    emails = forms.CharField(
        label="Email addresses",
        help_text="One per line, or separated by commas.",
        widget=forms.Textarea(attrs={"rows": 3, "placeholder": "ada@example.com\ngrace@example.com"}),
    )
    role = forms.ChoiceField(initial=Role.MEMBER)

    def __init__(self, *args: Any, by: Membership, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["role"].choices = role_choices(by)  # type: ignore[attr-defined]

    def clean_emails(self) -> list[str]:
        emails = [e.strip().lower() for e in re.split(r"[\s,;]+", str(self.cleaned_data["emails"])) if e.strip()]
        bad = []
        for email in emails:
            try:
                validate_email(email)
            except ValidationError:
                bad.append(email)
        if bad:
            raise ValidationError(f"Not valid email addresses: {', '.join(bad)}")
        if not emails:
            raise ValidationError("Enter at least one email address.")
        if len(emails) > 20:
            raise ValidationError("At most 20 addresses at once.")
        return list(dict.fromkeys(emails))


class RoleForm(forms.Form):
    role = forms.ChoiceField(choices=[(r, r.capitalize()) for r in Role.values])


class TokenForm(forms.Form):
    name = forms.CharField(
        max_length=100,
        label="Name",
        help_text='Where it will be used, e.g. "Dana\'s laptop" or "CI".',
        widget=forms.TextInput(attrs={"placeholder": "My laptop"}),
    )
    mode = forms.ChoiceField(
        choices=[
            (TokenMode.LIVE, "Live: your organization's data"),
            (TokenMode.TEST, "Test: the sandbox, a separate space with its own data"),
        ],
        initial=TokenMode.LIVE,
        widget=forms.RadioSelect,
    )
    read_only = forms.BooleanField(required=False, label="Read-only", help_text="Agents can read but change nothing.")
    project = forms.ChoiceField(
        required=False, label="Restrict to one project", help_text="Leave empty for every project."
    )
    expires_in_days = forms.IntegerField(
        required=False,
        min_value=1,
        max_value=3650,
        label="Expires after (days)",
        help_text="Leave empty for a token that does not expire.",
    )

    def __init__(self, *args: Any, organization: Organization, membership: Membership, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.viewer = membership.role == Role.VIEWER
        if self.viewer:
            # token_create enforces it too; the form says so up front.
            self.fields["read_only"].initial = True
            self.fields["read_only"].disabled = True
            self.fields["read_only"].help_text = "As a viewer, your tokens are always read-only."
        self.projects = _projects(organization)
        self.fields["project"].choices = [  # type: ignore[attr-defined]
            ("", "Every project"),
            *((str(pk), label) for pk, (label, _) in self.projects.items()),
        ]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        project = data.get("project")
        if project:
            _, in_sandbox = self.projects[uuid.UUID(project)]
            if in_sandbox != (data.get("mode") == TokenMode.TEST):
                self.add_error(
                    "project",
                    "A test token works in the sandbox: pick a sandbox project."
                    if data.get("mode") == TokenMode.TEST
                    else "A live token works on live data: pick a live project.",
                )
        if self.viewer:
            data["read_only"] = True
        return data


def _projects(organization: Organization) -> dict[uuid.UUID, tuple[str, bool]]:
    """Active projects of the organization and of its sandbox: id -> (label, in sandbox)."""
    from tools.projects.models import Project, ProjectStatus

    sandbox = getattr(organization, "sandbox", None)
    homes = [organization.pk, *([sandbox.pk] if sandbox else [])]
    rows = (
        Project.unscoped.filter(organization_id__in=homes, status=ProjectStatus.ACTIVE)
        .order_by("name")
        .values_list("pk", "name", "organization_id")
    )
    return {
        pk: (f"{name} (sandbox)" if org_id != organization.pk else name, org_id != organization.pk)
        for pk, name, org_id in rows
    }
