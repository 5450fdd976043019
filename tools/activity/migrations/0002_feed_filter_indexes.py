from django.contrib.postgres.operations import AddIndexConcurrently
from django.db import migrations, models


class Migration(migrations.Migration):
    # The audit trail is the largest table: its indexes are built without locking
    # writes (CREATE INDEX CONCURRENTLY cannot run inside a transaction).
    atomic = False

    dependencies = [
        ("activity", "0001_initial"),
    ]

    operations = [
        AddIndexConcurrently(
            model_name="activity",
            index=models.Index(fields=["organization", "type", "-created_at"], name="activity_type_feed"),
        ),
        AddIndexConcurrently(
            model_name="activity",
            index=models.Index(fields=["organization", "agent", "-created_at"], name="activity_agent_feed"),
        ),
        AddIndexConcurrently(
            model_name="activity",
            index=models.Index(fields=["organization", "session", "-created_at"], name="activity_session_feed"),
        ),
    ]
