"""A deleted organization's GitHub App installation is uninstalled from GitHub, when
the purge starts (accounts.deletion): the App keeps no access to repositories nobody
at Orchestra can use any more. A fine-grained token is only forgotten (its row goes
with the organization's); GitHub has no call that revokes it for its owner."""

from __future__ import annotations

import logging
from typing import Any

from django.dispatch import receiver
from githubkit.exception import RequestFailed

from accounts.deletion import organization_purging
from accounts.models import Organization
from githubint.client import app_client, app_configured, status_of
from githubint.models import ConnectionKind, ConnectionStatus, GitHubConnection

logger = logging.getLogger(__name__)


def installation_unlink(*, organization: Organization) -> bool:
    """Uninstall the organization's GitHub App installation (DELETE
    /app/installations/{id}) and forget the connection. Idempotent: an installation
    GitHub no longer knows (404) counts as gone. True when GitHub was asked."""
    connection = GitHubConnection.unscoped.filter(organization=organization, kind=ConnectionKind.APP).first()
    if connection is None or connection.installation_id is None:
        return False
    asked = False
    if connection.status != ConnectionStatus.DELETED:
        if not app_configured():
            logger.warning(
                "cannot uninstall GitHub installation %s: no GitHub App configured", connection.installation_id
            )
            return False
        github = app_client()  # held: githubkit's namespaces keep only a weak reference to it
        try:
            github.rest.apps.delete_installation(connection.installation_id)
        except RequestFailed as exc:
            if status_of(exc) != 404:
                raise
        asked = True
    GitHubConnection.unscoped.filter(pk=connection.pk).delete()
    return asked


@receiver(organization_purging)
def _unlink_on_purge(sender: Any, organization: Organization, **kwargs: Any) -> None:
    installation_unlink(organization=organization)
