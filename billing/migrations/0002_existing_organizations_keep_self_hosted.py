"""Organizations made before billing existed keep the unlimited self-hosted plan until
an operator changes it, and their counters start from their rows."""

from django.db import migrations


def forwards(apps, schema_editor):
    Organization = apps.get_model("accounts", "Organization")
    OrganizationBilling = apps.get_model("billing", "OrganizationBilling")
    OrganizationBilling.objects.bulk_create(
        [
            OrganizationBilling(organization_id=pk, base_plan="self_hosted")
            for pk in Organization.objects.filter(is_sandbox=False).values_list("pk", flat=True)
        ],
        ignore_conflicts=True,
    )
    from billing.recount import recount

    recount(connection=schema_editor.connection)


class Migration(migrations.Migration):
    dependencies = [
        ("billing", "0001_plans_and_usage"),
        # The tables billing.recount counts.
        ("accounts", "0003_invitations_onboarding"),
        ("projects", "0002_project_scoped_base_manager"),
        ("agents", "0003_project_scoped_base_manager"),
        ("tasks", "0002_project_scoped_base_manager"),
        ("memory", "0005_project_scoped_base_manager"),
    ]

    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]
