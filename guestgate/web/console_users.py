"""The local console's Disable/Enable and sponsors on a guest's profile, and the Deleted
guests page with Restore: the routes both consoles share (web/console_guest_routes.py) over
local mode's sign-in, pages and rules (web/console_guest_actions.py `LocalFrame`).
"""

from __future__ import annotations

from guestgate.web.console_guest_actions import LOCAL
from guestgate.web.console_guest_routes import user_routes

ROUTES = user_routes(LOCAL)
