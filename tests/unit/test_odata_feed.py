"""The OData feed's rules: query options, $select shapes, $filter on its properties, $metadata."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from guestgate.domain.odata import Compare, In, Or, StartsWith, parse_filter
from guestgate.domain.odata_feed import (
    DEFAULT_PAGE,
    INVITED_USERS,
    MAX_PAGE,
    USERS,
    FeedRow,
    parse_query,
    parse_select,
    preferred_page_size,
    select_text,
    shape,
)
from guestgate.errors import ValidationError

EDM = "{http://docs.oasis-open.org/odata/ns/edm}"


def make_row(**content: object) -> FeedRow:
    return FeedRow(
        partition_key="tenant",
        row_key="row",
        timestamp="2026-01-31T00:00:00.000000Z",
        content={"Mail": "a@example.com", "DisplayName": "A", **content},
        position=("2026-01-31T00:00:00.000000Z", "row"),
    )


def test_no_options_read_a_whole_default_page() -> None:
    query = parse_query(USERS, {})
    assert (query.filter, query.select, query.top, query.skip, query.count) == (
        None,
        None,
        None,
        0,
        False,
    )
    assert query.limit == DEFAULT_PAGE


def test_top_bounds_the_page_and_skip_and_count_are_read() -> None:
    query = parse_query(USERS, {"$top": "3", "$skip": "10", "$count": "true"}, page_size=2)
    assert (query.top, query.skip, query.count, query.limit) == (3, 10, True, 2)
    assert parse_query(USERS, {"$top": "0"}).limit == 0


@pytest.mark.parametrize(
    "options",
    [
        {"$top": "-1"},
        {"$top": "1e3"},
        {"$top": "٣"},  # a digit, but not ASCII
        {"$skip": "1000001"},
        {"$count": "True"},
        {"$format": "atom"},
        {"$orderby": "Timestamp"},
        {"$expand": "Content"},
        {"$unknown": "1"},
        {"$select": ""},
        {"$select": "Content/Password"},
        {"$select": "PartitionKey/Content"},
        {"$select": "x" * 2000},
    ],
)
def test_bad_options_are_refused(options: dict[str, str]) -> None:
    with pytest.raises(ValidationError):
        parse_query(USERS, options)


def test_select_paths_and_their_shape() -> None:
    chosen = parse_select(USERS, "RowKey, Content/Mail,Content/Mail")
    assert chosen == ("RowKey", "Content/Mail")
    assert shape(make_row(), chosen) == {"RowKey": "row", "Content": {"Mail": "a@example.com"}}
    assert select_text(chosen) == "(RowKey,Content/Mail)"
    whole_content = parse_select(USERS, "Content")
    assert shape(make_row(), whole_content)["Content"] == make_row().content
    assert parse_select(USERS, "RowKey,*") is None
    assert shape(make_row(), None)["PartitionKey"] == "tenant"
    assert select_text(None) == ""


def test_filter_takes_the_sets_properties_with_their_kinds() -> None:
    properties = USERS.filterable()
    assert parse_filter("Content/UserType eq 'guest'", properties) == Compare(
        "Content/UserType", "eq", "Guest"
    )
    assert parse_filter("Content/LastLoginDate eq null", properties) == Compare(
        "Content/LastLoginDate", "eq", None
    )
    assert parse_filter("Timestamp ge 2026-01-31T00:00:00Z", properties) == Compare(
        "Timestamp", "ge", "2026-01-31T00:00:00.000000Z"
    )
    node = parse_filter("startswith(Content/Mail,'a') or Content/Id in ('x','y')", properties)
    assert node == Or(StartsWith("Content/Mail", "a"), In("Content/Id", ("x", "y")))
    invited = INVITED_USERS.filterable()
    assert parse_filter("Content/SendInvitationMessage eq true", invited) == Compare(
        "Content/SendInvitationMessage", "eq", "true"
    )


@pytest.mark.parametrize(
    "text",
    [
        "Content/City eq 'Graz'",  # guestgate keeps no city: nothing to filter on
        "Content/Mail gt 'a'",
        "Content/LastLoginDate gt null",
        "Timestamp eq null",
        "Content/UserType eq 'Robot'",
        "mail eq 'a@example.com'",  # Graph's names are not the feed's
        "startswith(Timestamp,'2026')",
    ],
)
def test_filters_outside_the_feed_are_refused(text: str) -> None:
    with pytest.raises(ValidationError):
        parse_filter(text, USERS.filterable())


def test_graph_user_filters_are_unchanged() -> None:
    assert parse_filter("userType eq 'Guest'") == Compare("userType", "eq", "Guest")
    with pytest.raises(ValidationError):
        parse_filter("Content/UserType eq 'Guest'")


@pytest.mark.parametrize(
    ("header", "size"),
    [
        (None, None),
        ("odata.maxpagesize=50", 50),
        ("return=minimal, odata.maxpagesize=7", 7),
        ("odata.maxpagesize=0", 1),
        ("odata.maxpagesize=999999999", MAX_PAGE),
        ("odata.maxpagesize=ten", None),
        ("x-odata.maxpagesize=5", None),
    ],
)
def test_prefer_maxpagesize_is_bounded(header: str | None, size: int | None) -> None:
    assert preferred_page_size(header) == size


def test_metadata_is_csdl_with_both_sets_and_content_types() -> None:
    from guestgate.domain.odata_feed import metadata_document

    root = ET.fromstring(metadata_document())
    assert root.get("Version") == "4.0"
    complex_types = {
        t.get("Name"): [p.get("Name") for p in t.findall(f"{EDM}Property")]
        for t in root.iter(f"{EDM}ComplexType")
    }
    assert complex_types["UserContent"] == list(USERS.column_names)
    assert complex_types["InvitedUserContent"] == list(INVITED_USERS.column_names)
    keys = [
        [r.get("Name") for r in t.iter(f"{EDM}PropertyRef")] for t in root.iter(f"{EDM}EntityType")
    ]
    assert keys == [["PartitionKey", "RowKey"], ["PartitionKey", "RowKey"]]
