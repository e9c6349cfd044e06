"""The stock `django-admin startproject` settings with django-invitations added as its
documentation says (django.contrib.sites, the app, SITE_ID), DEBUG off, and SQLite as the
bench runs guestgate's: WAL mode, synchronous=NORMAL, write transactions BEGIN IMMEDIATE."""

from peersite.settings import *  # noqa: F403
from peersite.settings import DATABASES, INSTALLED_APPS

DEBUG = False
ALLOWED_HOSTS = ["127.0.0.1", "localhost"]
INSTALLED_APPS = [*INSTALLED_APPS, "django.contrib.sites", "invitations", "peer_api"]
SITE_ID = 1
ROOT_URLCONF = "peer_urls"
DATABASES["default"]["OPTIONS"] = {
    "transaction_mode": "IMMEDIATE",
    "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
}
