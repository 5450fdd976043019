"""People, organizations, memberships and MCP tokens.

These rows define tenancy rather than belong to it, so they keep Django's plain
managers; the tenant-owned rows (projects, agents, ...) use orchestra.tenancy.
"""

from __future__ import annotations

from typing import Any, ClassVar

from django.contrib.auth.models import AbstractBaseUser, BaseUserManager, PermissionsMixin
from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.utils import timezone

from orchestra.ids import new_id


class UserManager(BaseUserManager["User"]):
    use_in_migrations = True

    def create_user(self, email: str, password: str | None = None, **extra: Any) -> User:
        if not email:
            raise ValueError("email is required")
        user = self.model(email=self.normalize_email(email).lower(), **extra)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_superuser(self, email: str, password: str | None = None, **extra: Any) -> User:
        extra.setdefault("is_staff", True)
        extra.setdefault("is_superuser", True)
        return self.create_user(email, password, **extra)


class User(AbstractBaseUser, PermissionsMixin):
    """A person. They log in with their email address."""

    id = models.UUIDField(primary_key=True, default=new_id, editable=False)
    email = models.EmailField(unique=True)
    name = models.CharField(max_length=150, blank=True)
    is_active = models.BooleanField(default=True)
    is_staff = models.BooleanField(default=False)
    date_joined = models.DateTimeField(default=timezone.now)

    objects: ClassVar[UserManager] = UserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS: ClassVar[list[str]] = []

    def __str__(self) -> str:
        return self.email


class Organization(models.Model):
    """A team. Each live organization has one sandbox organization for test tokens:
    a second row with its own data, never counted against limits."""

    id = models.UUIDField(primary_key=True, default=new_id, editable=False)
    name = models.CharField(max_length=120)
    slug = models.SlugField(max_length=80, unique=True)
    is_sandbox = models.BooleanField(default=False)
    live_organization = models.OneToOneField(
        "self", null=True, blank=True, on_delete=models.CASCADE, related_name="sandbox"
    )
    suspended_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.CheckConstraint(
                name="sandbox_has_live_organization",
                condition=models.Q(is_sandbox=False, live_organization__isnull=True)
                | models.Q(is_sandbox=True, live_organization__isnull=False),
            )
        ]

    def __str__(self) -> str:
        return f"{self.name} (sandbox)" if self.is_sandbox else self.name

    @property
    def is_suspended(self) -> bool:
        return self.suspended_at is not None

    @property
    def email(self) -> str:
        """The address Stripe bills (dj-stripe's subscriber model needs one): the first
        owner's, or "" when the organization has no owner left."""
        owner = (
            Membership.objects.filter(organization=self, role=Role.OWNER)
            .select_related("user")
            .order_by("created_at")
            .first()
        )
        return owner.user.email if owner is not None else ""


class Role(models.TextChoices):
    OWNER = "owner"
    ADMIN = "admin"
    MEMBER = "member"
    VIEWER = "viewer"


class Membership(models.Model):
    id = models.UUIDField(primary_key=True, default=new_id, editable=False)
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="memberships")
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=10, choices=Role.choices, default=Role.MEMBER)
    # Onboarding steps this member chose to skip for now (accounts.onboarding); the
    # other steps' completion is read from the data itself.
    onboarding_skipped = ArrayField(models.CharField(max_length=20), default=list, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "organization"], name="one_membership_per_org")]

    def __str__(self) -> str:
        return f"{self.user} in {self.organization} ({self.role})"


class TokenMode(models.TextChoices):
    LIVE = "live"
    TEST = "test"


class Scope(models.TextChoices):
    READ = "read"
    WRITE = "write"


def default_scopes() -> list[str]:
    return [Scope.READ, Scope.WRITE]


class MCPToken(models.Model):
    """An MCP bearer token. Only its SHA-256 digest and last four characters are kept."""

    id = models.UUIDField(primary_key=True, default=new_id, editable=False)
    # Always the live organization; a test token acts in its sandbox.
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="tokens")
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="tokens")
    name = models.CharField(max_length=100)
    mode = models.CharField(max_length=4, choices=TokenMode.choices, default=TokenMode.LIVE)
    prefix = models.CharField(max_length=10, editable=False)
    digest = models.CharField(max_length=64, unique=True, editable=False)
    last_four = models.CharField(max_length=4, editable=False)
    scopes = ArrayField(models.CharField(max_length=5, choices=Scope.choices), default=default_scopes)
    project = models.ForeignKey("projects.Project", null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    expires_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = "MCP token"
        indexes = [models.Index(fields=["organization", "-created_at"], name="token_org_created")]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…{self.last_four})"

    @property
    def is_revoked(self) -> bool:
        return self.revoked_at is not None

    @property
    def is_expired(self) -> bool:
        return self.expires_at is not None and self.expires_at <= timezone.now()

    @property
    def can_write(self) -> bool:
        return Scope.WRITE in self.scopes


class Invitation(models.Model):
    """An invitation to join an organization with a role, sent by mail.

    The secret travels only in the link; the row keeps its SHA-256 digest. An
    invitation is pending until it is accepted, revoked or past `expires_at`."""

    id = models.UUIDField(primary_key=True, default=new_id, editable=False)
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="invitations")
    email = models.EmailField()
    role = models.CharField(max_length=10, choices=Role.choices, default=Role.MEMBER)
    invited_by = models.ForeignKey(User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    digest = models.CharField(max_length=64, unique=True, editable=False)
    expires_at = models.DateTimeField()
    accepted_at = models.DateTimeField(null=True, blank=True)
    accepted_by = models.ForeignKey(User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    revoked_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            # At most one open invitation per address and organization: inviting again
            # revokes the previous one (accounts.invitations.invitation_create).
            models.UniqueConstraint(
                fields=["organization", "email"],
                condition=models.Q(accepted_at__isnull=True, revoked_at__isnull=True),
                name="one_open_invitation_per_email",
            ),
        ]
        indexes = [models.Index(fields=["organization", "-created_at"], name="invitation_org_created")]

    def __str__(self) -> str:
        return f"{self.email} to {self.organization} ({self.role})"

    @property
    def is_expired(self) -> bool:
        return self.expires_at <= timezone.now()

    @property
    def status(self) -> str:
        if self.accepted_at is not None:
            return "accepted"
        # An invitation that lapsed is closed with revoked_at = expires_at when its
        # member's seat is given back (accounts.invitations.invitations_lapse): expired.
        if self.revoked_at is not None and self.revoked_at < self.expires_at:
            return "revoked"
        if self.is_expired:
            return "expired"
        return "pending"

    @property
    def is_pending(self) -> bool:
        return self.status == "pending"
