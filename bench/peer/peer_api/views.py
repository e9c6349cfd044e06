import hashlib
import json

from django.db import transaction
from django.http import HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST
from invitations.forms import InviteForm
from invitations.utils import get_invitation_model

from peer_api.models import ApiToken

Invitation = get_invitation_model()


@csrf_exempt
@require_POST
def invite_guest(request: HttpRequest) -> JsonResponse:
    """Invite one email address for the bearer token's user: 201 with the invitation."""
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    digest = hashlib.sha256(token.encode()).hexdigest()
    api_token = None
    if scheme.lower() == "bearer":
        api_token = ApiToken.objects.select_related("user").filter(key_hash=digest).first()
    if api_token is None:
        return JsonResponse({"message": "Invalid bearer token."}, status=401)
    try:
        email = json.loads(request.body)["invitedUserEmailAddress"]
    except (ValueError, KeyError, TypeError):
        return JsonResponse({"message": "invitedUserEmailAddress is required."}, status=400)
    # The library's form checks the address and refuses one already invited, accepted or
    # registered; inside one IMMEDIATE transaction no other request slips in between.
    form = InviteForm(data={"email": email})
    with transaction.atomic():
        if not form.is_valid():
            return JsonResponse({"message": " ".join(form.errors["email"])}, status=400)
        invitation = Invitation.create(form.cleaned_data["email"], inviter=api_token.user)
    return JsonResponse(
        {
            "id": str(invitation.pk),
            "invitedUserEmailAddress": invitation.email,
            "status": "PendingAcceptance",
        },
        status=201,
    )
