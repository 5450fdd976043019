# A proposed decision that supersedes another now only records the replacement as
# pending; it takes effect when the proposal is accepted (tools.decisions.services).
# Rows logged under the old rule (a proposed decision whose `supersedes` was applied at
# once) are brought to the new one: the link becomes pending, and the old decision gets
# back the status it had, as its "decision.superseded" audit row recorded it.

import django.db.models.deletion
from django.db import migrations, models


def pend_premature_supersessions(apps, schema_editor):
    Decision = apps.get_model("decisions", "Decision")
    Activity = apps.get_model("activity", "Activity")
    premature = Decision._base_manager.filter(status="proposed", supersedes__isnull=False)
    for new in premature.select_related("supersedes").iterator():
        old = new.supersedes
        new.pending_supersedes_id, new.supersedes_id = old.pk, None
        new.save(update_fields=["pending_supersedes", "supersedes"])
        if old.status != "superseded":
            continue
        audit = (
            Activity._base_manager.filter(type="decision.superseded", target_id=old.pk, metadata__by=str(new.pk))
            .order_by("-created_at")
            .first()
        )
        previous = (audit.metadata.get("from") if audit is not None else None) or "accepted"
        old.status = previous if previous in ("proposed", "accepted") else "accepted"
        old.save(update_fields=["status"])


class Migration(migrations.Migration):
    dependencies = [
        ("activity", "0002_feed_filter_indexes"),
        ("decisions", "0002_denser_hnsw_graph"),
    ]

    operations = [
        migrations.AddField(
            model_name="decision",
            name="pending_supersedes",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.SET_NULL,
                related_name="+",
                to="decisions.decision",
            ),
        ),
        migrations.RunPython(pend_premature_supersessions, migrations.RunPython.noop),
        migrations.AddConstraint(
            model_name="decision",
            constraint=models.CheckConstraint(
                condition=models.Q(("pending_supersedes__isnull", True), ("status", "proposed"), _connector="OR"),
                name="decision_pending_supersession_only_while_proposed",
            ),
        ),
    ]
