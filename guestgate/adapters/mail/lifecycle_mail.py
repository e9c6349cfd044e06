"""The lifecycle notice's words (render.py builds the mail around them)."""

from __future__ import annotations

from typing import Any

from guestgate.domain.messages import LifecycleNotice

STRINGS: dict[str, dict[str, str]] = {
    "en": {
        "subject": "{org}: {count} guest(s) you sponsor need your decision",
        "guest_subject": "{org}: your guest access will end unless it is renewed",
        "body": (
            "The guest access policy of {org} will act on these guests unless you keep them."
            " Each link works once."
        ),
        "guest_body": (
            "Your guest access to {org} will be {action} on {day}. Ask your sponsor at {org} to"
            " keep your access if you still need it."
        ),
        "disable": "disabled",
        "delete": "removed",
        "line": "{guest}: {action} on {day}",
        "keep": "Keep",
        "remove": "Remove now",
        "reason": "You received this email because you sponsor guests of {org}.",
        "guest_reason": "You received this email because you have guest access to {org}.",
    },
    "de": {
        "subject": "{org}: {count} Gast/Gäste, für die Sie bürgen, brauchen Ihre Entscheidung",
        "guest_subject": "{org}: Ihr Gastzugang endet, wenn er nicht verlängert wird",
        "body": (
            "Die Gastzugangsrichtlinie von {org} wird für diese Gäste greifen, wenn Sie sie nicht"
            " behalten. Jeder Link funktioniert einmal."
        ),
        "guest_body": (
            "Ihr Gastzugang zu {org} wird am {day} {action}. Bitten Sie Ihren Ansprechpartner"
            " bei {org}, Ihren Zugang zu behalten, falls Sie ihn noch brauchen."
        ),
        "disable": "deaktiviert",
        "delete": "entfernt",
        "line": "{guest}: {action} am {day}",
        "keep": "Behalten",
        "remove": "Jetzt entfernen",
        "reason": "Sie erhalten diese E-Mail, weil Sie für Gäste von {org} bürgen.",
        "guest_reason": "Sie erhalten diese E-Mail, weil Sie Gastzugang zu {org} haben.",
    },
}


def lifecycle_context(payload: LifecycleNotice, lang: str) -> tuple[dict[str, Any], str]:
    """The template's context (with the layout's `reason`: a sponsor's or a guest's, not the
    requester's) and the subject line."""
    words = STRINGS.get(lang, STRINGS["en"])
    org = payload.org
    entries = [
        {
            "text": words["line"].format(guest=guest, action=words[action], day=day),
            "keep_url": keep,
            "remove_url": remove,
        }
        for guest, action, day, keep, remove in payload.entries
    ]
    if payload.to_guest and payload.entries:
        _, action, day, _, _ = payload.entries[0]
        text = words["guest_body"].format(org=org, action=words[action], day=day)
        reason = words["guest_reason"].format(org=org)
        told: dict[str, Any] = {"text": text, "entries": [], "keep": "", "remove": ""}
        return told | {"reason": reason}, words["guest_subject"].format(org=org)
    context: dict[str, Any] = {
        "text": words["body"].format(org=org),
        "entries": entries,
        "keep": words["keep"],
        "remove": words["remove"],
        "reason": words["reason"].format(org=org),
    }
    return context, words["subject"].format(org=org, count=len(entries))
