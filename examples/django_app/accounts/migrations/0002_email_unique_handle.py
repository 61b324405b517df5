from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("accounts", "0001_initial")]

    operations = [
        migrations.AlterField(model_name="account", name="email", field=models.EmailField(max_length=254, unique=True)),
        migrations.RenameField(model_name="account", old_name="nick", new_name="handle"),
    ]
