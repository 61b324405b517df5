from django.db import IntegrityError, models


class Profile(models.Model):
    email = models.TextField(unique=True)
    nickname = models.TextField()

    class Meta:
        db_table = "django_profiles"


def save(email, nickname):
    try:
        Profile.objects.create(email=email, nickname=nickname)
    except IntegrityError:
        Profile.objects.filter(email=email).update(nickname=nickname)
