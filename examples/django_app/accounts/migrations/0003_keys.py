from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("accounts", "0002_email_unique_handle")]

    operations = [
        # (tenant, handle) gives way to (tenant, email): one key dropped, one added.
        migrations.AlterUniqueTogether(name="account", unique_together={("tenant", "email")}),
        # PostgreSQL 15+: one account per (tenant, handle), a NULL handle included.
        migrations.AddConstraint(
            model_name="account",
            constraint=models.UniqueConstraint(fields=["tenant", "handle"], nulls_distinct=False, name="account_tenant_handle_nnd"),
        ),
        # Checked at commit time on PostgreSQL: such a key cannot arbitrate ON CONFLICT.
        migrations.AddConstraint(
            model_name="account",
            constraint=models.UniqueConstraint(fields=["handle"], deferrable=models.Deferrable.DEFERRED, name="account_handle_deferred"),
        ),
        migrations.AddConstraint(
            model_name="account",
            constraint=models.UniqueConstraint(fields=["tenant", "created_at"], name="account_tenant_created"),
        ),
        migrations.RemoveConstraint(model_name="account", name="account_tenant_created"),
    ]
