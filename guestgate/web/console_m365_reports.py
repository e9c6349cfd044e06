"""The Microsoft 365 console's Reports page: what it shows in this mode, and why.

The local console's reports count the invitations, their states, the requesters, domains
and sign-ins in guestgate's own directory (services/reports.py); the API's /api/reports
serves the same figures. In Microsoft 365 mode the guests, their invitations' state and
their sign-ins are Entra's: guestgate keeps none of them, and the API does not serve
/api/reports. So this page draws no figures it cannot tell right; it says so, and names
where the figures are: Activity (the events of what guestgate did, with who did it), the
guest list as it is now, and Entra's own audit and sign-in logs.
"""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, get

from guestgate.errors import PermissionDenied
from guestgate.web.console_m365 import _page, _refusal
from guestgate.web.console_m365_signin import signed_in

NOT_YOURS = "Your role does not let you see reports; administrators and readers see them."


@get("/admin/{tenant:str}/reports", include_in_schema=False)
async def reports_page(request: Request[Any, Any, Any], tenant: str) -> Response[str]:
    signed = await signed_in(request, tenant)
    if isinstance(signed, Response):
        return signed
    runtime, person = signed
    if not person.access.sees_all:
        return _refusal(PermissionDenied(NOT_YOURS, code="NotAnAdministrator"))
    return _page(runtime, person, "console_m365_reports.html", title="Reports - Microsoft 365")


ROUTES = [reports_page]
