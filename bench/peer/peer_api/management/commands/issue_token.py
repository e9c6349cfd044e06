import hashlib
import secrets

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand

from peer_api.models import ApiToken


class Command(BaseCommand):
    help = "Create an inviting user with a bearer token and print the token."

    def handle(self, *args: object, **options: object) -> None:
        user = get_user_model().objects.create_user("inviter", "inviter@peer.example")
        token = secrets.token_urlsafe(32)
        ApiToken.objects.create(key_hash=hashlib.sha256(token.encode()).hexdigest(), user=user)
        self.stdout.write(token)
