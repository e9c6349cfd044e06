from django.conf import settings
from django.db import models


class ApiToken(models.Model):
    """A bearer token of an inviting user, stored as its SHA-256 hash."""

    key_hash = models.CharField(max_length=64, unique=True)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE)
