"""The stock URLs, the library's as its documentation says, and the one JSON endpoint."""

from django.urls import include, path
from peer_api.views import invite_guest
from peersite.urls import urlpatterns as stock_urlpatterns

urlpatterns = [
    *stock_urlpatterns,
    path("invitations/", include("invitations.urls", namespace="invitations")),
    path("api/InviteGuest", invite_guest),
]
