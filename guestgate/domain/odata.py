"""The OData subset `GET /v1.0/users` understands, parsed into a small syntax tree.

The Power BI feed (domain/odata_feed.py) parses its `$filter` with the same parser over its
own property table.

A hand-written tokenizer and recursive-descent parser: no eval, no SQL; values stay values.
Anything outside the subset is a `ValidationError` with code ``Request_UnsupportedQuery``
naming the part that is not supported.

    expr    := or
    or      := and ("or" and)*
    and     := unary ("and" unary)*
    unary   := "not" unary | primary
    primary := "(" expr ")" | "startswith(" prop "," string ")" | prop op value
               | prop "in" "(" value ("," value)* ")"
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime

from guestgate.domain.emails import parse_email
from guestgate.domain.users import ACCEPTED, GUEST, INVITATION, MEMBER, PENDING, fold, unstorable
from guestgate.errors import ValidationError

UNSUPPORTED = "Request_UnsupportedQuery"
MAX_FILTER = 2048
MAX_NODES = 64
MAX_IN = 50

# Graph property → (kind, canonical values for enums)
PROPERTIES: dict[str, tuple[str, tuple[str, ...]]] = {
    "userType": ("enum", (GUEST, MEMBER)),
    "externalUserState": ("enum", (PENDING, ACCEPTED)),
    "creationType": ("enum", (INVITATION,)),
    "mail": ("text", ()),
    "displayName": ("text", ()),
    "userPrincipalName": ("text", ()),
    "createdDateTime": ("time", ()),
}
ORDERABLE = ("displayName", "createdDateTime")
NULLABLE_TIME = "nullable time"  # a time that may also be compared with null (eq, ne)
TIMES = ("time", NULLABLE_TIME)


@dataclass(frozen=True, slots=True)
class Compare:
    prop: str
    op: str  # eq ne gt ge lt le
    value: str | None


@dataclass(frozen=True, slots=True)
class In:
    prop: str
    values: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class StartsWith:
    prop: str
    prefix: str


@dataclass(frozen=True, slots=True)
class Not:
    expr: Node


@dataclass(frozen=True, slots=True)
class And:
    left: Node
    right: Node


@dataclass(frozen=True, slots=True)
class Or:
    left: Node
    right: Node


Node = Compare | In | StartsWith | Not | And | Or

_TOKEN = re.compile(
    r"""\s*(?:
        (?P<string>'(?:[^']|'')*')
      | (?P<time>\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2}(?:\.\d{1,7})?)?Z)
      | (?P<punct>[(),])
      | (?P<word>[A-Za-z_][A-Za-z0-9_./]*)
      | (?P<other>\S)
    )""",
    re.VERBOSE,
)


def unsupported(message: str) -> ValidationError:
    return ValidationError(message, code=UNSUPPORTED)


def _tokens(text: str) -> list[tuple[str, str]]:
    found: list[tuple[str, str]] = []
    position = 0
    while position < len(text):
        match = _TOKEN.match(text, position)
        if match is None or match.end() == position:
            break
        position = match.end()
        kind = match.lastgroup
        assert kind is not None
        if kind == "other":
            raise unsupported(f"Invalid filter clause: unexpected '{match.group(kind)}'.")
        found.append((kind, match.group(kind)))
    if text[position:].strip():
        raise unsupported("Invalid filter clause.")
    return found


class _Parser:
    def __init__(
        self, tokens: list[tuple[str, str]], properties: dict[str, tuple[str, tuple[str, ...]]]
    ) -> None:
        self.tokens = tokens
        self.properties = properties
        self.position = 0
        self.nodes = 0

    def peek(self) -> tuple[str, str] | None:
        return self.tokens[self.position] if self.position < len(self.tokens) else None

    def take(self) -> tuple[str, str]:
        token = self.peek()
        if token is None:
            raise unsupported("Invalid filter clause: the expression ends too early.")
        self.position += 1
        return token

    def expect(self, value: str) -> None:
        _, text = self.take()
        if text.lower() != value:
            raise unsupported(f"Invalid filter clause: expected '{value}', found '{text}'.")

    def keyword(self, word: str) -> bool:
        token = self.peek()
        if token is not None and token[0] == "word" and token[1].lower() == word:
            self.position += 1
            return True
        return False

    def count(self) -> None:
        self.nodes += 1
        if self.nodes > MAX_NODES:
            raise unsupported(f"The filter has more than {MAX_NODES} clauses.")

    def expr(self) -> Node:
        node = self.conjunction()
        while self.keyword("or"):
            self.count()
            node = Or(node, self.conjunction())
        return node

    def conjunction(self) -> Node:
        node = self.unary()
        while self.keyword("and"):
            self.count()
            node = And(node, self.unary())
        return node

    def unary(self) -> Node:
        if self.keyword("not"):
            self.count()
            return Not(self.unary())
        return self.primary()

    def primary(self) -> Node:
        self.count()
        kind, text = self.take()
        if text == "(":
            node = self.expr()
            self.expect(")")
            return node
        if kind != "word":
            raise unsupported(f"Invalid filter clause: unexpected '{text}'.")
        if text.lower() == "startswith":
            self.expect("(")
            prop = self.prop(self.take())
            self.expect(",")
            prefix = self.string(self.take(), prop)
            self.expect(")")
            if self.properties[prop][0] in (*TIMES, "bool") or prefix is None:
                raise unsupported(f"startswith is not supported on {prop}.")
            return StartsWith(prop, prefix)
        prop = self.prop((kind, text))
        op_kind, op = self.take()
        op = op.lower()
        if op == "in":
            self.expect("(")
            values: list[str] = []
            while True:
                value = self.value(self.take(), prop)
                if value is None:
                    raise unsupported("null is not supported inside 'in'.")
                values.append(value)
                if len(values) > MAX_IN:
                    raise unsupported(f"'in' takes at most {MAX_IN} values.")
                if self.peek() == ("punct", ","):
                    self.take()
                    continue
                self.expect(")")
                return In(prop, tuple(values))
        if op not in ("eq", "ne", "gt", "ge", "lt", "le") or op_kind != "word":
            raise unsupported(f"Unsupported or invalid operator '{op}' on {prop}.")
        if op not in ("eq", "ne") and self.properties[prop][0] not in TIMES:
            raise unsupported(f"Operator '{op}' is not supported on {prop}.")
        token = self.take()
        if token == ("word", "null") and self.properties[prop][0] == NULLABLE_TIME:
            if op not in ("eq", "ne"):
                raise unsupported(f"Only eq and ne compare {prop} with null.")
            return Compare(prop, op, None)
        return Compare(prop, op, self.value(token, prop))

    def prop(self, token: tuple[str, str]) -> str:
        kind, text = token
        if kind != "word" or text not in self.properties:
            raise unsupported(f"Unsupported property '{text}' in the filter.")
        return text

    def string(self, token: tuple[str, str], prop: str) -> str | None:
        kind, text = token
        if kind == "word" and text == "null":
            return None
        if kind != "string":
            raise unsupported(f"Expected a quoted string for {prop}, found '{text}'.")
        value = text[1:-1].replace("''", "'")
        if unstorable(value) or len(value) > 512:
            raise unsupported(f"Invalid value for {prop}: a NUL or an unpaired surrogate.")
        return value

    def value(self, token: tuple[str, str], prop: str) -> str | None:
        kind_of_prop, choices = self.properties[prop]
        if kind_of_prop == "bool":
            if token[0] != "word" or token[1] not in ("true", "false", "null"):
                raise unsupported(f"{prop} takes true or false.")
            return None if token[1] == "null" else token[1]
        if kind_of_prop in TIMES:
            if token[0] != "time":
                raise unsupported(f"{prop} takes a date and time such as 2026-01-31T00:00:00Z.")
            return _canonical_time(token[1])
        value = self.string(token, prop)
        if value is not None and kind_of_prop == "enum":
            # Graph compares these case-insensitively; we store one spelling.
            folded = {c.lower(): c for c in choices}
            if value.lower() not in folded:
                raise unsupported(f"{prop} is one of {', '.join(choices)}; not '{value[:40]}'.")
            value = folded[value.lower()]
        return value


def _canonical_time(text: str) -> str:
    """To the stored timestamp format, so comparisons are plain string comparisons."""
    body = text.rstrip("Z")
    fmt = "%Y-%m-%dT%H:%M:%S" if body.count(":") == 2 else "%Y-%m-%dT%H:%M"
    fraction = ""
    if "." in body:
        body, fraction = body.split(".")
    try:
        moment = datetime.strptime(body, fmt).replace(tzinfo=UTC)
    except ValueError:
        raise unsupported(f"Invalid date and time '{text}'.") from None
    micro = int((fraction + "000000")[:6]) if fraction else 0
    return moment.replace(microsecond=micro).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def parse_filter(
    text: str, properties: dict[str, tuple[str, tuple[str, ...]]] = PROPERTIES
) -> Node:
    """`properties` names what may be filtered on, each with its kind: enum, text, time,
    nullable time or bool (values ``'true'``/``'false'``); Graph's user properties unless told
    otherwise."""
    if len(text) > MAX_FILTER:
        raise unsupported(f"The filter is longer than {MAX_FILTER} characters.")
    tokens = _tokens(text)
    if not tokens:
        raise unsupported("The filter is empty.")
    parser = _Parser(tokens, properties)
    node = parser.expr()
    if parser.peek() is not None:
        raise unsupported(f"Invalid filter clause: unexpected '{parser.peek()[1]}'.")  # type: ignore[index]
    return node


def parse_orderby(text: str) -> tuple[str, bool]:
    """``displayName`` or ``createdDateTime desc`` → (property, descending)."""
    parts = text.split()
    if not parts or len(parts) > 2 or parts[0] not in ORDERABLE:
        raise unsupported(f"$orderby supports {' or '.join(ORDERABLE)} only, not '{text[:80]}'.")
    if len(parts) == 2 and parts[1].lower() not in ("asc", "desc"):
        raise unsupported(f"Invalid $orderby direction '{parts[1][:20]}'.")
    return parts[0], len(parts) == 2 and parts[1].lower() == "desc"


def parse_search(text: str) -> tuple[str, str]:
    """``"displayName:ada"`` → ("displayName", "ada")."""
    match = re.fullmatch(r'"(displayName|mail):([^"]{1,256})"', text)
    if not match:
        raise unsupported('$search supports "displayName:…" and "mail:…" only.')
    if unstorable(match.group(2)):
        raise unsupported("$search: the term holds a NUL or an unpaired surrogate.")
    return match.group(1), match.group(2)


def text_key(prop: str, value: str, *, prefix: bool = False) -> str:
    """A text property's filter value as the stored key it is compared with.

    Everything is folded (domain/users.py `fold`); a whole `mail` value that is an address is
    compared as its email key, so ``mail eq`` finds exactly the guest an invite of that
    address would find (``Zoë@Bücher.example`` and ``zoë@xn--bcher-kva.example`` alike).
    """
    if prop == "mail" and not prefix:
        try:
            return parse_email(value, field="mail").key
        except ValidationError:
            pass  # not an address: it matches no stored one
    return fold(value)


@dataclass(frozen=True, slots=True)
class UserQuery:
    """A validated `GET /v1.0/users` query."""

    filter: Node | None = None
    search: tuple[str, str] | None = None
    order_by: str = "createdDateTime"
    descending: bool = False
    after: tuple[str, str] | None = None  # keyset position: (sort value, id)
    top: int = 100
