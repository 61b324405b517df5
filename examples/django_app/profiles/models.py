from django.db import models
from django.db.models.functions import Lower

from accounts.models import Account


class AvatarConfiguration(models.Model):
    """The incident: one configuration per account is assumed, never enforced."""

    account = models.ForeignKey(Account, on_delete=models.CASCADE)
    persona = models.CharField(max_length=40)
    settings = models.JSONField(default=dict)
    updated_at = models.DateTimeField(auto_now=True)


class Preference(models.Model):
    account = models.ForeignKey(Account, on_delete=models.CASCADE)
    key = models.CharField(max_length=40)
    value = models.TextField(null=True)

    class Meta:
        unique_together = [("account", "key")]


class Label(models.Model):
    name = models.CharField(max_length=50)
    slug = models.SlugField(null=True)
    deleted = models.BooleanField(default=False)
    accounts = models.ManyToManyField(Account, related_name="labels")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["slug"], condition=models.Q(deleted=False), name="label_live_slug"),
            models.UniqueConstraint(Lower("name"), name="label_name_ci"),
        ]


class Session(models.Model):
    account = models.OneToOneField(Account, on_delete=models.CASCADE)
    token = models.CharField(max_length=64)
