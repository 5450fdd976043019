from django.apps import AppConfig


class GithubintConfig(AppConfig):
    """The GitHub connection (a later issue); empty until GitHub is built."""

    name = "githubint"
    verbose_name = "GitHub"
