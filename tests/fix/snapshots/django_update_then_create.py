from django.db import models


class Profile(models.Model):
    email = models.TextField(unique=True)
    nickname = models.TextField()

    class Meta:
        db_table = "django_profiles"


def save(email, nickname):
    updated = Profile.objects.filter(email=email).update(nickname=nickname)
    if not updated:
        Profile.objects.create(email=email, nickname=nickname)
