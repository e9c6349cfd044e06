"""What the redemption pages send to a browser and accept from it.

Pages are rendered with headers that forbid framing, Referer and caching. Every form carries
a CSRF token bound to the browser (an HMAC over a cookie value), and posts that name another
origin are refused. Cookies are HttpOnly, and Secure with the __Host- prefix over https.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from jinja2 import Environment, FileSystemLoader, select_autoescape
from litestar import Request, Response
from litestar.datastructures import Cookie

from guestgate.domain import redemption as rules
from guestgate.domain.branding import initials
from guestgate.domain.invitations import check_redirect_url
from guestgate.errors import RedemptionError, ValidationError
from guestgate.runtime import Runtime
from guestgate.services import redemption
from guestgate.web.auth import runtime_of

_templates = Environment(
    loader=FileSystemLoader(Path(__file__).with_name("templates")),
    autoescape=select_autoescape(default=True, default_for_string=True),
)
PAGE_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'self'; img-src 'self'; base-uri 'none';"
        " form-action 'self' https: http://localhost:* http://127.0.0.1:*; frame-ancestors 'none'"
    ),
    "Cache-Control": "no-store",
}
FORM_COOKIE = "gg_form"
SESSION_COOKIE = "gg_session"

# reason: (status, heading, what it means, what to do). A service error's message is the
# page's text unless it only restates the heading.
ERROR_PAGES: dict[str, tuple[int, str, str, str]] = {
    redemption.INVALID: (
        404,
        "This invitation link is not valid",
        "The link may be incomplete, or the invitation was withdrawn, declined or replaced"
        " by a newer one.",
        "Ask the person who invited you to send a new invitation.",
    ),
    redemption.EXPIRED: (
        410,
        "This invitation has expired",
        "An invitation link works for a limited time, and this one's time is up.",
        "Ask the person who invited you to send the invitation again.",
    ),
    redemption.NO_SESSION: (
        403,
        "Your session has ended",
        "Accepting an invitation has to be finished within a limited time, in one browser.",
        "Open the link in your invitation email again to continue.",
    ),
    redemption.TOO_SOON: (429, "Please wait", "", ""),
    redemption.DISABLED: (
        403,
        "Your account is disabled",
        "",
        "Ask the person who invited you: the organization has disabled your guest account.",
    ),
    redemption.DOMAIN_BLOCKED: (
        403,
        "This invitation can no longer be accepted",
        "",
        "Ask the person who invited you: the organization's invitation policy decides which"
        " domains it accepts guests from.",
    ),
}


def cookie_name(runtime: Runtime, name: str) -> str:
    # The __Host- prefix pins the cookie to this host and https; plain http cannot use it.
    return f"__Host-{name}" if runtime.settings.http.https else name


# What http.cookies leaves unquoted in a name or value (its _LegalChars).
_PLAIN = re.compile(r"[A-Za-z0-9!#$%&'*+\-.^_`|~:]+")


class PageCookie(Cookie):
    """Litestar's cookie, with its Set-Cookie header written directly when nothing needs
    quoting: Litestar builds it through `dataclasses.asdict` and `http.cookies`, a cost every
    redemption page paid. The text is the same (tests/unit/test_page_cookie.py)."""

    def to_encoded_header(self) -> tuple[bytes, bytes]:
        value = self.value or ""
        if (
            self.expires is not None
            or self.domain is not None
            or not _PLAIN.fullmatch(self.key)
            or not _PLAIN.fullmatch(value)
        ):
            return super().to_encoded_header()
        parts = [f"{self.key}={value}"]
        if self.httponly:
            parts.append("HttpOnly")
        if self.max_age is not None:
            parts.append(f"Max-Age={self.max_age}")
        if self.path:
            parts.append(f"Path={self.path}")
        if self.samesite:
            parts.append(f"SameSite={self.samesite}")
        if self.secure:
            parts.append("Secure")
        return b"set-cookie", "; ".join(parts).encode("latin-1")


def cookie(runtime: Runtime, name: str, value: str, max_age: int) -> Cookie:
    return PageCookie(
        key=cookie_name(runtime, name),
        value=value,
        path="/",
        max_age=max_age,
        httponly=True,
        secure=runtime.settings.http.https,
        samesite="lax",
    )


def csrf(runtime: Runtime, binding: str) -> str:
    return hmac.new(runtime.form_key, binding.encode(), hashlib.sha256).hexdigest()


def session_csrf(runtime: Runtime, session_id: str) -> str:
    """The CSRF token of a redemption session's forms."""
    return csrf(runtime, f"session:{rules.session_hash(session_id)}")


def check_csrf(runtime: Runtime, binding: str, form: dict[str, str]) -> bool:
    """Whether the form carries the CSRF token of `binding` (compared in constant time)."""
    return hmac.compare_digest(csrf(runtime, binding), form.get("csrf", ""))


def check_session_csrf(runtime: Runtime, session_id: str, form: dict[str, str]) -> bool:
    return check_csrf(runtime, f"session:{rules.session_hash(session_id)}", form)


def render(
    template: str, status: int = 200, cookies: list[Cookie] | None = None, **context: Any
) -> Response[str]:
    # The logo is the image the admin gave guestgate, served from this origin (web/branding.py);
    # without one the organisation's initials stand in. A page loads nothing from another
    # origin, and guestgate does not fetch URLs that tenants name.
    html = _templates.get_template(template).render(
        {
            "org": None,
            "logo": None,
            "title": "guestgate",
            "initials": initials(context.get("org")),
            **context,
        }
    )
    return Response(
        html,
        status_code=status,
        media_type="text/html",
        headers=PAGE_HEADERS,
        cookies=cookies,
    )


def message(
    status: int,
    title: str,
    text: str,
    hint: str = "",
    org: str | None = None,
    logo: str | None = None,
) -> Response[str]:
    return render("message.html", status, title=title, text=text, hint=hint, org=org, logo=logo)


def error_page(
    exc: RedemptionError, org: str | None = None, logo: str | None = None
) -> Response[str]:
    status, title, text, hint = ERROR_PAGES.get(exc.reason, (400, "Something went wrong", "", ""))
    restates = exc.message.lower().startswith(title.lower())
    shown = text if restates or not exc.message else exc.message
    return message(status, title, shown, hint, org=org, logo=logo)


def see_other(location: str, cookies: list[Cookie] | None = None) -> Response[str]:
    return Response(
        "", status_code=303, headers={**PAGE_HEADERS, "Location": location}, cookies=cookies
    )


def redirect_to(url: str) -> Response[str]:
    """303 to a stored redirect URL. URLs are stored as ASCII URIs; one an earlier version
    stored as given is encoded now, or replaced by the welcome page, so no redirect fails."""
    try:
        target = url if url.isascii() else check_redirect_url(url)
    except ValidationError:
        target = "/welcome"
    return see_other(target)


def forbidden() -> Response[str]:
    return message(
        403, "This request was refused", "Go back to your invitation email and open the link again."
    )


async def read_form(request: Request[Any, Any, Any], max_fields: int = 10) -> dict[str, str]:
    runtime = runtime_of(request)
    # Browsers send "Origin: null" from no-referrer pages; the CSRF token is the real check,
    # this one only refuses posts that name another site.
    origin = request.headers.get("origin")
    if origin not in (None, "null") and origin != _origin(runtime.settings.http.public_url):
        raise RedemptionError("forbidden", "This form was sent from another site.")
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type != "application/x-www-form-urlencoded":
        raise RedemptionError("forbidden", "This form was not sent by the page.")
    try:
        return dict(parse_qsl((await request.body()).decode("utf-8"), max_num_fields=max_fields))
    except (UnicodeDecodeError, ValueError):
        raise RedemptionError("forbidden", "This form was not sent by the page.") from None


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"
