"""The pgvector extension. CREATE EXTENSION needs a superuser (or a role allowed to
create it): on a managed database, create it once by hand (see README)."""

from django.db import migrations
from pgvector.django import VectorExtension


class Migration(migrations.Migration):
    initial = True
    dependencies: list[tuple[str, str]] = []
    operations = [VectorExtension()]
