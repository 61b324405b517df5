from django.db import migrations, models
from django.db.models.functions import Lower


class Migration(migrations.Migration):
    dependencies = [("profiles", "0001_initial"), ("accounts", "0002_email_unique_handle")]

    operations = [
        migrations.RemoveField(model_name="tag", name="legacy_code"),
        migrations.AddConstraint(
            model_name="tag",
            constraint=models.UniqueConstraint(fields=["slug"], condition=models.Q(deleted=False), name="label_live_slug"),
        ),
        migrations.AddConstraint(model_name="tag", constraint=models.UniqueConstraint(Lower("name"), name="label_name_ci")),
        migrations.AddField(
            model_name="tag", name="accounts", field=models.ManyToManyField(related_name="labels", to="accounts.account"),
        ),
        migrations.RenameModel(old_name="Tag", new_name="Label"),
    ]
