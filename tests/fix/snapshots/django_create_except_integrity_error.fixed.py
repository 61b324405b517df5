from django.db import IntegrityError, models


class Profile(models.Model):
    email = models.TextField(unique=True)
    nickname = models.TextField()

    class Meta:
        db_table = "django_profiles"


def save(email, nickname):
    Profile.objects.update_or_create(email=email, defaults={"nickname": nickname})
