import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("oauth", "0001_initial"),
        # Not later than the toolkit's 0010: its 0011 depends on this app.
        ("oauth2_provider", "0010_application_allowed_origins"),
    ]

    operations = [
        migrations.AddField(
            model_name="accesstoken",
            name="application",
            field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.CASCADE, to=settings.OAUTH2_PROVIDER_APPLICATION_MODEL, verbose_name="application"),
        ),
        migrations.AddField(
            model_name="accesstoken",
            name="id_token",
            field=models.OneToOneField(blank=True, null=True, on_delete=django.db.models.deletion.CASCADE, related_name="access_token", to=settings.OAUTH2_PROVIDER_ID_TOKEN_MODEL, verbose_name="ID token"),
        ),
        migrations.AddField(
            model_name="grant",
            name="application",
            field=models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, to=settings.OAUTH2_PROVIDER_APPLICATION_MODEL, verbose_name="application"),
            preserve_default=False,
        ),
        migrations.AddField(
            model_name="refreshtoken",
            name="application",
            field=models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, to=settings.OAUTH2_PROVIDER_APPLICATION_MODEL, verbose_name="application"),
            preserve_default=False,
        ),
    ]
