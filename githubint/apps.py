from django.apps import AppConfig


class GithubintConfig(AppConfig):
    """GitHub App installations, tokens, repositories and their sync."""

    name = "githubint"
    verbose_name = "GitHub"

    def ready(self) -> None:
        from githubint import unlink  # noqa: F401  (uninstalls the App when an organization is purged)
