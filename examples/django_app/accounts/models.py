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
        unique_together = [("tenant", "handle")]
