"""Django: create when the lookup finds nothing -> get_or_create on the unique field."""
from django.db import models


class Avatar(models.Model):
    user_id = models.IntegerField(unique=True)
    persona = models.TextField()

    class Meta:
        db_table = "django_avatars"


def save(user_id, persona):
    Avatar.objects.get_or_create(user_id=user_id, defaults={"persona": persona})
