"""The OData feed of GT365's Power BI tables: its entity model, `$metadata` and query options.

GT365 writes its tables to Azure Table storage and its Power BI template reads each table as
`PartitionKey`, `RowKey`, `Timestamp` and a `Content` record, which it expands. The feed has
that shape: each entity set's type holds the three keys and a complex property `Content` whose
properties carry the template's column names, so replacing the template's source step with
`OData.Feed(<root>)` leaves every later step as it is.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any
from xml.sax.saxutils import quoteattr

from guestgate.domain.odata import NULLABLE_TIME, Node, parse_filter, unsupported
from guestgate.domain.users import ACCEPTED, GUEST, MEMBER, PENDING
from guestgate.errors import ValidationError

NAMESPACE = "guestgate.powerbi"
CONTAINER = "guestgate"
DEFAULT_PAGE = 1000
MAX_PAGE = 5000
MAX_SKIP = 1_000_000
MAX_TOP = 10_000_000
MAX_SELECT = 1024
OPTIONS = frozenset({"$filter", "$select", "$top", "$skip", "$count", "$skiptoken", "$format"})
# Recognised but refused: the feed is read as a whole table, in its own order.
REFUSED = frozenset({"$orderby", "$expand", "$search", "$apply", "$compute", "$levels", "$id"})
KEYS = ("PartitionKey", "RowKey", "Timestamp")
CONTENT = "Content"
TEXT, BOOL, TIME = "Edm.String", "Edm.Boolean", "Edm.DateTimeOffset"


@dataclass(frozen=True, slots=True)
class Column:
    """A property of `Content`: its Edm type and how `$filter` may compare it (None: not)."""

    name: str
    edm: str
    filter: tuple[str, tuple[str, ...]] | None = None


@dataclass(frozen=True, slots=True)
class EntitySet:
    name: str
    entity_type: str
    content_type: str
    columns: tuple[Column, ...]

    @property
    def column_names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns)

    def filterable(self) -> dict[str, tuple[str, tuple[str, ...]]]:
        """`$filter` property paths and their kinds, as domain/odata.py's parser takes them."""
        found: dict[str, tuple[str, tuple[str, ...]]] = {
            "PartitionKey": ("text", ()),
            "RowKey": ("text", ()),
            "Timestamp": ("time", ()),
        }
        for column in self.columns:
            if column.filter is not None:
                found[f"{CONTENT}/{column.name}"] = column.filter
        return found


_TEXT = ("text", ())
INVITED_USERS = EntitySet(
    name="invitedusers",
    entity_type="InvitedUser",
    content_type="InvitedUserContent",
    columns=(
        Column("InviteRedirectUrl", TEXT, _TEXT),
        Column("InvitedUserDisplayName", TEXT, _TEXT),
        Column("InvitedUserEmailAddress", TEXT, _TEXT),
        Column("RequestedBy", TEXT, _TEXT),
        Column("SendInvitationMessage", BOOL, ("bool", ())),
    ),
)
USERS = EntitySet(
    name="users",
    entity_type="User",
    content_type="UserContent",
    columns=(
        Column("AccountEnabled", BOOL),
        Column("City", TEXT),
        Column("CompanyName", TEXT),
        Column("Country", TEXT),
        Column("CreatedDateTime", TIME, ("time", ())),
        Column("Department", TEXT),
        Column("DisplayName", TEXT, _TEXT),
        Column("EmployeeId", TEXT),
        Column("GivenName", TEXT),
        Column("HasLicenseAssigned", BOOL),
        Column("Id", TEXT, _TEXT),
        Column("JobTitle", TEXT),
        Column("LastLoginDate", TIME, (NULLABLE_TIME, ())),
        Column("Mail", TEXT, _TEXT),
        Column("MailNickname", TEXT),
        Column("OU", TEXT),
        Column("ShowInAddressList", BOOL),
        Column("Surname", TEXT),
        Column("UsageLocation", TEXT),
        Column("UserPrincipalName", TEXT, _TEXT),
        Column("UserType", TEXT, ("enum", (GUEST, MEMBER))),
        Column("ExternalUserState", TEXT, ("enum", (PENDING, ACCEPTED))),
        Column("ExternalUserStateChangeDateTime", TIME, (NULLABLE_TIME, ())),
        Column("SignInSessionsValidFromDateTime", TIME),
    ),
)
ENTITY_SETS = {s.name: s for s in (INVITED_USERS, USERS)}


@dataclass(frozen=True, slots=True)
class FeedRow:
    """One entity: the Azure Table keys, its `Content` and its place in the feed's order."""

    partition_key: str
    row_key: str
    timestamp: str
    content: dict[str, Any]
    position: tuple[str, str]  # (created_at, id): the keyset the feed pages on


@dataclass(frozen=True, slots=True)
class FeedQuery:
    """A validated request for one page of an entity set."""

    entity_set: EntitySet
    filter: Node | None = None
    select: tuple[str, ...] | None = None  # None: every property
    top: int | None = None  # rows still wanted, over all pages
    skip: int = 0
    after: tuple[str, str] | None = None
    page_size: int = DEFAULT_PAGE
    count: bool = False

    @property
    def limit(self) -> int:
        """Rows on this page."""
        return self.page_size if self.top is None else min(self.top, self.page_size)


def bad_request(message: str) -> ValidationError:
    return ValidationError(message, code="BadRequest")


def _number(name: str, text: str, highest: int) -> int:
    if not (text.isascii() and text.isdigit()) or len(text) > 10 or int(text) > highest:
        raise bad_request(f"{name} must be a whole number from 0 to {highest}.")
    return int(text)


def parse_select(entity_set: EntitySet, text: str) -> tuple[str, ...] | None:
    """`PartitionKey,Content/Mail` → the chosen paths; ``*`` or all of Content → None parts."""
    if len(text) > MAX_SELECT:
        raise bad_request(f"$select is longer than {MAX_SELECT} characters.")
    chosen: list[str] = []
    for part in (p.strip() for p in text.split(",")):
        if part == "*":
            return None
        head, slash, tail = part.partition("/")
        known = head in KEYS and not slash
        known = known or (head == CONTENT and (not slash or tail in entity_set.column_names))
        if not known:
            raise bad_request(
                f"Could not find a property named '{part[:80]}' on type"
                f" '{NAMESPACE}.{entity_set.entity_type}'."
            )
        if part not in chosen:
            chosen.append(part)
    if not chosen:
        raise bad_request("$select names no property.")
    return tuple(chosen)


def parse_count(text: str) -> bool:
    if text not in ("true", "false"):
        raise bad_request("$count must be true or false.")
    return text == "true"


def parse_query(
    entity_set: EntitySet, options: dict[str, str], *, page_size: int = DEFAULT_PAGE
) -> FeedQuery:
    """The query options of a request for `entity_set` (the paging token is the caller's)."""
    for name in options:
        if name in REFUSED:
            raise unsupported(f"The feed does not support {name}.")
        if name not in OPTIONS:
            raise bad_request(f"The query option '{name[:40]}' is not supported.")
    if "$format" in options and options["$format"] not in ("json", "application/json"):
        raise bad_request("$format must be json.")
    node = None
    if "$filter" in options:
        node = parse_filter(options["$filter"], entity_set.filterable())
    return FeedQuery(
        entity_set=entity_set,
        filter=node,
        select=parse_select(entity_set, options["$select"]) if "$select" in options else None,
        top=_number("$top", options["$top"], MAX_TOP) if "$top" in options else None,
        skip=_number("$skip", options["$skip"], MAX_SKIP) if "$skip" in options else 0,
        page_size=page_size,
        count=parse_count(options["$count"]) if "$count" in options else False,
    )


_MAX_PAGE_SIZE = re.compile(r"(?:^|[,;\s])odata\.maxpagesize\s*=\s*([0-9]{1,9})(?:$|[,;\s])")


def preferred_page_size(prefer: str | None) -> int | None:
    """The page size a `Prefer: odata.maxpagesize=N` header asks for, bounded; None if none."""
    if not prefer:
        return None
    match = _MAX_PAGE_SIZE.search(prefer[:1024])
    if match is None:
        return None
    return max(1, min(int(match.group(1)), MAX_PAGE))


def shape(row: FeedRow, select: tuple[str, ...] | None) -> dict[str, Any]:
    """An entity as the feed sends it: every property, or only the `$select`ed ones."""
    whole = {
        "PartitionKey": row.partition_key,
        "RowKey": row.row_key,
        "Timestamp": row.timestamp,
        CONTENT: row.content,
    }
    if select is None:
        return whole
    shaped: dict[str, Any] = {}
    parts: dict[str, Any] = {}
    for path in select:
        head, _, tail = path.partition("/")
        if head != CONTENT:
            shaped[head] = whole[head]
        elif not tail:
            parts = dict(row.content)
        else:
            parts.setdefault(tail, row.content[tail])
    if any(p.startswith(CONTENT) for p in select):
        shaped[CONTENT] = parts
    return shaped


def select_text(select: tuple[str, ...] | None) -> str:
    """The `$select` list of a context URL: ``(PartitionKey,Content/Mail)``, or nothing."""
    return "" if select is None else f"({','.join(select)})"


def _property(name: str, edm: str, *, nullable: bool = True) -> str:
    flag = "" if nullable else ' Nullable="false"'
    return f"<Property Name={quoteattr(name)} Type={quoteattr(edm)}{flag}/>"


def metadata_document() -> str:
    """The CSDL XML of `$metadata`: both entity types, their `Content` types and the sets."""
    schema: list[str] = []
    for entity_set in ENTITY_SETS.values():
        schema.append(f'<ComplexType Name="{entity_set.content_type}">')
        schema.extend(_property(c.name, c.edm) for c in entity_set.columns)
        schema.append("</ComplexType>")
        schema.append(
            f'<EntityType Name="{entity_set.entity_type}">'
            '<Key><PropertyRef Name="PartitionKey"/><PropertyRef Name="RowKey"/></Key>'
        )
        schema.append(_property("PartitionKey", TEXT, nullable=False))
        schema.append(_property("RowKey", TEXT, nullable=False))
        schema.append(_property("Timestamp", TIME, nullable=False))
        content = f"{NAMESPACE}.{entity_set.content_type}"
        schema.append(_property(CONTENT, content, nullable=False))
        schema.append("</EntityType>")
    schema.append(f'<EntityContainer Name="{CONTAINER}">')
    schema.extend(
        f'<EntitySet Name="{s.name}" EntityType="{NAMESPACE}.{s.entity_type}"/>'
        for s in ENTITY_SETS.values()
    )
    schema.append("</EntityContainer>")
    return (
        '<?xml version="1.0" encoding="utf-8"?>\n'
        '<edmx:Edmx Version="4.0" xmlns:edmx="http://docs.oasis-open.org/odata/ns/edmx">'
        "<edmx:DataServices>"
        f'<Schema Namespace="{NAMESPACE}" xmlns="http://docs.oasis-open.org/odata/ns/edm">'
        + "".join(schema)
        + "</Schema></edmx:DataServices></edmx:Edmx>"
    )
