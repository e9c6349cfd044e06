"""Bulk-invite files: Entra's template exactly, plain CSV, bounds, and the results file."""

from __future__ import annotations

import csv
import io

import pytest

from guestgate.domain import bulk_csv
from guestgate.domain.bulk_csv import ResultRow, parse, results_csv
from guestgate.errors import ValidationError

# Microsoft's template, as the contract gives it (wave2-contracts.md section 4), unchanged.
TEMPLATE = (
    b"version:v1.0\n"
    b"Email address to invite [inviteeEmail] Required,Redirection url [inviteRedirectURL]"
    b" Required,Send invitation message (true or false) [sendEmail],Customized invitation"
    b" message [customizedMessageBody]\n"
    b'alice@fabrikam.com,https://myapplications.microsoft.com,TRUE,"Welcome to Contoso"\n'
)
HEADINGS = (
    "Email address to invite [inviteeEmail] Required,Redirection url [inviteRedirectURL]"
    " Required,Send invitation message (true or false) [sendEmail],Customized invitation"
    " message [customizedMessageBody]"
)


def entra(*rows: str, version: str = "version:v1.0", newline: str = "\r\n") -> bytes:
    return newline.join([version, HEADINGS, *rows, ""]).encode()


def test_microsofts_template_reads_unchanged() -> None:
    parsed = parse(TEMPLATE)
    assert parsed.columns.entra
    [row] = parsed.rows
    assert row.number == 3
    assert row.error is None
    assert row.request is not None
    assert row.request.email.address == "alice@fabrikam.com"
    assert row.request.redirect_url == "https://myapplications.microsoft.com"
    assert row.request.send_message is True
    assert row.request.message_info is not None
    assert row.request.message_info.customized_message_body == "Welcome to Contoso"


def test_bom_crlf_excel_version_line_spaces_and_blank_trailing_lines() -> None:
    data = (
        "\ufeff"
        + entra(
            "bob@fabrikam.com, https://myapps.microsoft.com, True, Hello",
            "carol@fabrikam.com,https://myapps.microsoft.com,false,",
            "",
            ",,,",
            version="version:v1.0,,,",
        ).decode()
    )
    parsed = parse(data.encode())
    assert [r.request.email.address for r in parsed.rows if r.request] == [
        "bob@fabrikam.com",
        "carol@fabrikam.com",
    ]
    assert [r.request.send_message for r in parsed.rows if r.request] == [True, False]


def test_columns_are_known_by_property_in_any_language_and_order() -> None:
    data = (
        "version:v1.0\n"
        "招待するメール アドレス [inviteeEmail] 必須,リダイレクト URL [inviteRedirectURL] 必須,"
        "Extra [somethingElse],Nombre [inviteeName]\n"
        "dora@fabrikam.com,https://myapps.microsoft.com,ignored,Dora Díaz\n"
    ).encode()
    [row] = parse(data).rows
    assert row.request is not None
    assert row.request.display_name == "Dora Díaz"


def test_quoted_cells_hold_commas_and_newlines_and_warn_about_commas() -> None:
    parsed = parse(entra('erin@fabrikam.com,https://myapps.microsoft.com,TRUE,"Hi, Erin\nWelcome"'))
    [row] = parsed.rows
    assert row.request is not None
    assert row.request.message_info is not None
    assert row.request.message_info.customized_message_body == "Hi, Erin\nWelcome"
    assert parsed.warnings


def test_the_example_row_is_skipped() -> None:
    parsed = parse(entra("Example: someone@fabrikam.com,https://myapps.microsoft.com,TRUE,Hi"))
    [row] = parsed.rows
    assert row.skipped
    assert row.request is None
    assert row.error is None


def test_plain_csv_with_header_names() -> None:
    data = (
        b"invitedUserEmailAddress,inviteRedirectUrl,sendInvitationMessage,requestedBy\n"
        b"fay@fabrikam.com,https://app.contoso.example,false,boss@contoso.example\n"
    )
    parsed = parse(data)
    [row] = parsed.rows
    assert not parsed.columns.entra
    assert row.request is not None
    assert row.request.requested_by is not None
    assert row.request.requested_by.address == "boss@contoso.example"


def test_a_second_row_for_one_guest_is_its_own_error_naming_the_first() -> None:
    parsed = parse(
        b"email,inviteRedirectUrl\n"
        b"fay@fabrikam.com,https://app.contoso.example\n"
        b"not an address,https://app.contoso.example\n"
        b"FAY@Fabrikam.COM,https://other.contoso.example\n"
        b"gil@fabrikam.com,https://app.contoso.example\n"
    )
    first, bad, again, other = parsed.rows
    assert first.request is not None
    assert other.request is not None
    assert bad.error is not None
    assert bad.error.code == "InvalidEmailAddress"
    assert again.request is None
    assert again.error is not None
    assert again.error.code == "DuplicateAddress"
    assert again.error.message == (
        "Row 4, column inviteeEmail: FAY@fabrikam.com is also in row 2; a file invites each"
        " guest once."
    )


def test_a_bad_row_is_its_own_error_naming_row_and_column() -> None:
    parsed = parse(
        entra(
            "gil@fabrikam.com,https://myapps.microsoft.com,TRUE,",
            "not-an-address,https://myapps.microsoft.com,TRUE,",
            "hal@fabrikam.com,http://evil.example,TRUE,",
            "ida@fabrikam.com,https://myapps.microsoft.com,maybe,",
        )
    )
    errors = [r.error for r in parsed.rows]
    assert errors[0] is None
    assert errors[1] is not None
    assert errors[1].message.startswith("Row 4, column inviteeEmail")
    assert errors[2] is not None
    assert errors[2].message.startswith("Row 5, column inviteRedirectURL")
    assert errors[3] is not None
    assert errors[3].code == "InvalidSendEmail"


@pytest.mark.parametrize(
    ("data", "code", "says"),
    [
        (b"", "InvalidCsvHeadings", "empty"),
        (b"version:v2.0\nx\n", "InvalidCsvVersion", "Row 1"),
        (
            b"version:v1.0\nEmail [inviteeEmail] Required\na@b.example\n",
            "InvalidCsvHeadings",
            "inviteRedirectURL",
        ),
        (b"name,address\nx,y\n", "InvalidCsvHeadings", "inviteeEmail"),
        (b"email,email\na@b.example,a@b.example\n", "InvalidCsvHeadings", "twice"),
        (b"email\n\xff\xfe@b.example\n", "InvalidCsvEncoding", "Row 2"),
        (b'email\n"a@b.example\n', "InvalidCsv", "malformed"),
        (b"email\na\x00@b.example\n", "InvalidCsvCharacter", "Row 2, column 1"),
        (b"email\n" + b"a" * 13_000 + b"\n", "CsvCellTooLong", "Row 2"),
        (b"email\n" + b"a" * 200_000 + b"\n", "CsvCellTooLong", "Row 2"),
        (b"email\n" + b",".join([b"x"] * 100) + b"\n", "CsvTooManyColumns", "Row 2"),
    ],
)
def test_a_bad_file_is_refused_whole_naming_the_problem(data: bytes, code: str, says: str) -> None:
    with pytest.raises(ValidationError) as caught:
        parse(data)
    assert caught.value.code == code
    assert says in caught.value.message


def test_row_and_byte_limits(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(bulk_csv, "MAX_ROWS", 3)
    with pytest.raises(ValidationError) as caught:
        parse(b"email\n" + b"".join(b"g%d@f.example\n" % i for i in range(4)))
    assert caught.value.code == "CsvTooManyRows"
    assert len(parse(b"email\n" + b"".join(b"g%d@f.example\n" % i for i in range(3))).rows) == 3
    monkeypatch.setattr(bulk_csv, "MAX_BYTES", 10)
    with pytest.raises(ValidationError) as caught:
        parse(b"email\nabc@f.example\n")
    assert caught.value.code == "CsvTooLarge"


def test_results_are_row_for_row_and_spreadsheet_safe() -> None:
    text = results_csv(
        ("Email [inviteeEmail]", "Note"),
        [
            ResultRow(
                ("a@f.example", "=cmd|' /C calc'!A0"),
                "Success",
                user_id="u1",
                redeem_url="https://gg.test/r",
            ),
            ResultRow(("@SUM(1)",), "Failure", "InvalidEmailAddress", "-bad +worse"),
        ],
    )
    assert text.startswith("\ufeff")
    rows = list(csv.reader(io.StringIO(text.removeprefix("\ufeff"))))
    assert rows[0] == ["Email [inviteeEmail]", "Note", *bulk_csv.RESULT_HEADINGS]
    assert rows[1] == [
        "a@f.example",
        "'=cmd|' /C calc'!A0",
        "Success",
        "",
        "",
        "u1",
        "https://gg.test/r",
    ]
    assert rows[2] == ["'@SUM(1)", "", "Failure", "InvalidEmailAddress", "'-bad +worse", "", ""]
