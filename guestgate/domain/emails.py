"""Email addresses: syntax, and the one identity an address has.

The identity key of an address (what makes two spellings "the same guest"):

1. the address is validated by email-validator (RFC 5322/6531 syntax; quoted local parts,
   IP-literal domains, display-name forms and special-use domains such as ``localhost`` or
   ``.invalid`` are refused) and normalised to Unicode NFC;
2. the domain is lower-cased and converted to its IDNA A-label (``bücher.example`` →
   ``xn--bcher-kva.example``), after UTS 46 mapping (full-width letters become ASCII);
3. the local part is lower-cased with ``str.lower()``.

So ``Alice@Example.COM``, ``alice@example.com`` and ``alice@ｅｘａｍｐｌｅ.com`` are one guest;
``Zoë`` typed as NFC or NFD is one guest; the Kelvin sign ``K`` becomes ``k``. ``ß`` is *not*
folded to ``ss`` (they are different mailboxes to most mail systems), a trailing dot after the
domain is refused, plus-addresses (``alice+hr@…``) are distinct mailboxes, and a look-alike
domain in another script (``exаmple.com`` with a Cyrillic ``а``) is a different domain.

A local part holding ``=?`` is refused: in a header it would read as an RFC 2047 encoded word.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from functools import lru_cache

import email_validator

from guestgate.domain.text import has_unsafe_characters
from guestgate.errors import ValidationError

# Domain validation (IDNA, UTS 46) is most of email-validator's ~0.3 ms per address, and it is
# a pure function of the domain: remember it for the domains we see, which repeat a lot.
# The library reads the result and never changes it, so sharing one result is safe.
setattr(  # noqa: B010 (replacing a library function needs the attribute by name)
    importlib.import_module("email_validator.validate_email"),
    "validate_email_domain_name",
    lru_cache(maxsize=8192)(
        importlib.import_module("email_validator.syntax").validate_email_domain_name
    ),
)

MAX_ADDRESS = 254
MAX_LOCAL_PART = 64  # RFC 5321 §4.5.3.1.1


@dataclass(frozen=True, slots=True)
class EmailAddress:
    address: str  # NFC-normalised, as shown to people and used to send mail
    key: str  # identity key: lower-case local part @ A-label domain
    domain: str  # A-label domain, lower case

    @property
    def ascii_address(self) -> str:
        """The address with an A-label domain, for headers and logs."""
        return f"{self.address.rsplit('@', 1)[0]}@{self.domain}"


def parse_email(
    value: str, *, field: str = "invitedUserEmailAddress", code: str = "InvalidEmailAddress"
) -> EmailAddress:
    if not value or not value.strip():
        raise ValidationError(f"{field} is required.", code=code)
    if len(value) > MAX_ADDRESS:
        raise ValidationError(f"{field} is longer than {MAX_ADDRESS} characters.", code=code)
    if has_unsafe_characters(value) or value != value.strip():
        raise ValidationError(f"{field} contains spaces or control characters.", code=code)
    try:
        valid = email_validator.validate_email(
            value,
            check_deliverability=False,
            allow_smtputf8=True,
            allow_quoted_local=False,
            allow_domain_literal=False,
            allow_display_name=False,
        )
    except email_validator.EmailNotValidError as exc:
        raise ValidationError(f"{field} is not a valid email address: {exc}", code=code) from None
    local = valid.normalized.rsplit("@", 1)[0]
    if "=?" in local:
        # RFC 2047: a mail client decodes `=?utf-8?b?…?=` in a To: or Cc: header, and would
        # show the guest (or a CC) another mailbox than the one the message goes to.
        raise ValidationError(
            f"{field} must not contain '=?': mail clients would decode it as an encoded word"
            " (RFC 2047) and show another address.",
            code=code,
        )
    if len(local.encode("utf-8")) > MAX_LOCAL_PART:
        raise ValidationError(
            f"{field}: the part before the @ is longer than {MAX_LOCAL_PART} octets.", code=code
        )
    if len(valid.normalized) > MAX_ADDRESS:
        raise ValidationError(f"{field} is longer than {MAX_ADDRESS} characters.", code=code)
    domain = valid.ascii_domain.lower()
    return EmailAddress(address=valid.normalized, key=f"{local.lower()}@{domain}", domain=domain)


def domain_matches(domain: str, tenant_domains: tuple[str, ...]) -> bool:
    """Whether an A-label domain is one of the tenant's domains or a subdomain of one."""
    return any(domain == d or domain.endswith("." + d) for d in tenant_domains)
