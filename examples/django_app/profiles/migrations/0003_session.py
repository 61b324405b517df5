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
        # Keys created by hand, which Django's model state never sees: the database has them.
        migrations.RunSQL(
            sql="CREATE UNIQUE INDEX session_token_uq ON profiles_session (token)",
            reverse_sql=migrations.RunSQL.noop,
        ),
        migrations.SeparateDatabaseAndState(
            database_operations=[migrations.RunSQL("CREATE UNIQUE INDEX session_account_token ON profiles_session (account_id, token)")],
            state_operations=[],
        ),
    ]
