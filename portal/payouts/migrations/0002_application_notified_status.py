from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("notifications", "0008_campaign_purpose"),
        ("payouts", "0001_initial"),
    ]

    operations = [
        migrations.AddField(
            model_name="application",
            name="notified_status",
            field=models.CharField(
                blank=True, db_default="", editable=False, max_length=12, verbose_name="已短信告知的状态"
            ),
        ),
        # Applications reported before notices existed count as told: nobody gets an SMS about old news.
        # (Before the index, so the rows are not indexed only to be rewritten.)
        migrations.RunSQL(
            "UPDATE payouts_application SET notified_status = status", reverse_sql=migrations.RunSQL.noop
        ),
        migrations.AddIndex(
            model_name="application",
            index=models.Index(
                condition=models.Q(("notified_status", models.F("status")), _negated=True),
                fields=["id"],
                name="application_untold",
            ),
        ),
        # A round's 意愿确认 pushes sent before purposes existed are progress notices too.
        migrations.RunSQL(
            "UPDATE notifications_campaign SET purpose = 'progress' "
            "WHERE id IN (SELECT campaign_id FROM payouts_payoutround_campaigns)",
            reverse_sql=migrations.RunSQL.noop,
        ),
    ]
