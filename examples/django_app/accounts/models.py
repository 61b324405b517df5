from django.db import models


class TimeStamped(models.Model):
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        abstract = True


class Account(TimeStamped):
    email = models.EmailField(unique=True)
    handle = models.CharField(max_length=40, null=True)
    tenant = models.IntegerField()

    class Meta:
        db_table = "accounts"
        unique_together = [("tenant", "email")]
        constraints = [
            models.UniqueConstraint(fields=["tenant", "handle"], nulls_distinct=False, name="account_tenant_handle_nnd"),
            models.UniqueConstraint(fields=["handle"], deferrable=models.Deferrable.DEFERRED, name="account_handle_deferred"),
        ]
