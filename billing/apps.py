from django.apps import AppConfig


class BillingConfig(AppConfig):
    """Plans and limits on dj-stripe (a later issue); empty until billing is built."""

    name = "billing"
