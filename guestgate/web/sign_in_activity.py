"""Graph's `signInActivity` user property: read only with `$select`, as Graph serves it.

Graph asks for AuditLog.Read.All besides User.Read.All before it shows sign-in times.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from litestar import Request

from guestgate.domain.apps import READ_AUDIT, grants
from guestgate.domain.timestamps import graph_time
from guestgate.domain.users import User
from guestgate.errors import PermissionDenied
from guestgate.services import signin
from guestgate.web.auth import caller_of, runtime_of

PROPERTY = "signInActivity"


async def attach(
    request: Request[Any, Any, Any],
    shaped: Sequence[dict[str, Any]],
    found: Sequence[User],
    selected: Sequence[str],
) -> None:
    """Add signInActivity to each shaped user when `$select` names it."""
    if PROPERTY not in selected:
        return
    runtime = runtime_of(request)
    if runtime.verifier.enforces_roles and not grants(caller_of(request).roles, READ_AUDIT):
        raise PermissionDenied(
            "Calling principal does not have required MSGraph permissions AuditLog.Read.All"
        )
    activity = await signin.sign_in_activity(
        runtime.uow(write=False), user_ids=[u.id for u in found]
    )
    for row, user in zip(shaped, found, strict=False):
        last, success = activity.get(user.id, (None, None))
        row[PROPERTY] = {
            "lastSignInDateTime": graph_time(last),
            "lastSignInRequestId": None,
            "lastNonInteractiveSignInDateTime": None,
            "lastNonInteractiveSignInRequestId": None,
            "lastSuccessfulSignInDateTime": graph_time(success),
            "lastSuccessfulSignInRequestId": None,
        }
