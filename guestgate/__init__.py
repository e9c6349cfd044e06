"""guestgate: a self-hosted guest-invitation service."""

__version__ = "0.1.0"
