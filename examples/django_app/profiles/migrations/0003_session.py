import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("profiles", "0002_tag_constraints")]

    operations = [
        migrations.CreateModel(
            name="Session",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("token", models.CharField(max_length=64)),
                ("account", models.OneToOneField(on_delete=django.db.models.deletion.CASCADE, to="accounts.account")),
            ],
        ),
        # A key created by hand, then dropped: the catalog must follow both.
        migrations.RunSQL(
            sql="CREATE UNIQUE INDEX session_token_tmp ON profiles_session (token)",
            reverse_sql="DROP INDEX session_token_tmp",
        ),
        migrations.SeparateDatabaseAndState(
            database_operations=[migrations.RunSQL("DROP INDEX session_token_tmp")],
            state_operations=[],
        ),
    ]
