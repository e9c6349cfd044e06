"""Bulk-invite files: Entra's bulk-invite template, or plain CSV with header names.

Entra's template (docs/bulk.md): a `version:v1.0` line, then one heading per column written
`<label> [propertyName] <Required>`, in the portal's language; columns are known by the
bracketed property name only. The downloaded template's `Example:` row is listed in the
results as skipped, never invited. A plain CSV names its columns in its first row, with
Entra's property names or the Graph invitation's field names.

Parsing is bounded (bytes, rows, characters per cell) and pure. A problem with the file
itself (encoding, version line, headings, quoting, sizes, NUL) is a `ValidationError`
naming the row and column: nothing of the file is used. A problem with one row's values is
that row's own error, and the other rows still go. Every row is validated by the same
`build_invite_request` the API uses.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from guestgate.domain.emails import parse_email
from guestgate.domain.invitations import InviteRequest, build_invite_request, check_redirect_url
from guestgate.errors import GuestgateError, ValidationError

MAX_BYTES = 32 * 1024 * 1024
MAX_ROWS = 100_000
MAX_CELL = 12_000  # characters: a customized message takes 10,000
MAX_COLUMNS = 64
VERSION = "version:v1.0"
BOM = "\ufeff"

# What each column is for, by its property name (lower case): Entra's template's names
# first, then the Graph invitation's field names a plain CSV may use instead.
EMAIL, REDIRECT, SEND, MESSAGE, NAME, REQUESTER, LANGUAGE = (
    "inviteeEmail",
    "inviteRedirectURL",
    "sendEmail",
    "customizedMessageBody",
    "inviteeName",
    "requestedBy",
    "messageLanguage",
)
PROPERTIES = {p.lower(): p for p in (EMAIL, REDIRECT, SEND, MESSAGE, NAME, REQUESTER, LANGUAGE)} | {
    "invitedemailaddress": EMAIL,
    "inviteduseremailaddress": EMAIL,
    "email": EMAIL,
    "sendinvitationmessage": SEND,
    "inviteduserdisplayname": NAME,
}
# Which column a row's error is about, by the error's code.
COLUMN_OF_CODE = {
    "InvalidEmailAddress": EMAIL,
    "InvalidRedirectUrl": REDIRECT,
    "InvalidSendEmail": SEND,
    "InvalidMessageBody": MESSAGE,
    "InvalidDisplayName": NAME,
    "InvalidRequestedBy": REQUESTER,
    "InvalidMessageLanguage": LANGUAGE,
    "DuplicateAddress": EMAIL,
}
RESULT_HEADINGS = ("status", "error code", "error message", "user id", "inviteRedeemUrl")
SUCCESS, FAILURE, SKIPPED = "Success", "Failure", "Skipped"
PENDING_APPROVAL = "PendingApproval"  # held for an approver: nothing sent yet
# A cell a spreadsheet would run as a formula starts with one of these (OWASP's list).
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


@dataclass(frozen=True, slots=True)
class Columns:
    """Where each known property is in a row; `entra`: the file is Entra's template."""

    entra: bool
    headings: tuple[str, ...]
    index: dict[str, int]


@dataclass(frozen=True, slots=True)
class ParsedRow:
    """One data row: its number in the file (1 is the first line, as a spreadsheet counts
    rows), its cells as read, and the request it makes or why it makes none."""

    number: int
    cells: tuple[str, ...]
    request: InviteRequest | None
    error: GuestgateError | None = None
    skipped: bool = False  # the template's `Example:` row


@dataclass(frozen=True, slots=True)
class BulkFile:
    columns: Columns
    rows: tuple[ParsedRow, ...]
    warnings: tuple[str, ...] = ()


def _file_error(message: str, code: str) -> ValidationError:
    return ValidationError(message, code=code)


def decode(data: bytes) -> str:
    """UTF-8, with or without Excel's byte-order mark."""
    if len(data) > MAX_BYTES:
        raise _file_error(f"The file is larger than {MAX_BYTES} bytes.", "CsvTooLarge")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise _file_error(
            f"Row {line}: the file is not UTF-8 text (byte {exc.start}).", "InvalidCsvEncoding"
        ) from None
    return text.removeprefix(BOM)


def _records(text: str) -> Iterable[tuple[int, list[str]]]:
    """RFC 4180 records with their row numbers; quoted cells may hold commas and newlines."""
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    number = 0
    while True:
        number += 1
        try:
            record = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            if "field larger than field limit" in str(exc):
                raise _file_error(
                    f"Row {number}: a cell is longer than {MAX_CELL} characters.", "CsvCellTooLong"
                ) from None
            raise _file_error(
                f"Row {number}: the CSV is malformed ({exc}).", "InvalidCsv"
            ) from None
        if len(record) > MAX_COLUMNS:
            raise _file_error(
                f"Row {number} has more than {MAX_COLUMNS} columns.", "CsvTooManyColumns"
            )
        for position, cell in enumerate(record, start=1):
            if len(cell) > MAX_CELL:
                raise _file_error(
                    f"Row {number}, column {position}: the cell is longer than {MAX_CELL}"
                    " characters.",
                    "CsvCellTooLong",
                )
            if "\x00" in cell:
                raise _file_error(
                    f"Row {number}, column {position}: the cell holds a NUL character.",
                    "InvalidCsvCharacter",
                )
        yield number, record


def _property(heading: str) -> str | None:
    """The bracketed property name of an Entra heading, or a plain heading's own name."""
    text = heading.strip()
    if "[" in text and "]" in text.split("[", 1)[1]:
        text = text.split("[", 1)[1].split("]", 1)[0].strip()
    return PROPERTIES.get(text.lower())


def columns_of(headings: Sequence[str], *, entra: bool) -> Columns:
    """The known columns of a heading row; refuses a missing or repeated one."""
    index: dict[str, int] = {}
    for position, heading in enumerate(headings):
        prop = _property(heading)
        if prop is None:
            continue  # extra columns are ignored, as Entra does
        if prop in index:
            raise _file_error(f"The column {prop} appears twice.", "InvalidCsvHeadings")
        index[prop] = position
    required = (EMAIL, REDIRECT) if entra else (EMAIL,)
    for prop in required:
        if prop not in index:
            where = "Row 2" if entra else "Row 1"
            raise _file_error(
                f"{where}: no column [{prop}]. Headings read: "
                + ", ".join(repr(h[:60]) for h in headings[:8]),
                "InvalidCsvHeadings",
            )
    return Columns(entra=entra, headings=tuple(h.strip() for h in headings), index=index)


def _cell(columns: Columns, cells: Sequence[str], prop: str) -> str | None:
    position = columns.index.get(prop)
    if position is None or position >= len(cells):
        return None
    value = cells[position].strip()
    return value or None


def _send(value: str | None) -> bool:
    # Blank: the portal's behaviour, which sends the invitation unless told not to.
    if value is None:
        return True
    if value.lower() in ("true", "false"):
        return value.lower() == "true"
    raise ValidationError("sendEmail must be true or false.", code="InvalidSendEmail")


def request_of(columns: Columns, cells: Sequence[str]) -> InviteRequest:
    """The invitation one row asks for, validated as the API validates a request."""
    email = _cell(columns, cells, EMAIL)
    redirect = _cell(columns, cells, REDIRECT)
    if redirect is None and columns.entra:
        raise ValidationError(f"{REDIRECT} is required.", code="InvalidRedirectUrl")
    try:
        return build_invite_request(
            email=email,
            redirect_url=redirect,
            send_message=_send(_cell(columns, cells, SEND)),
            display_name=_cell(columns, cells, NAME),
            requested_by=_cell(columns, cells, REQUESTER),
            message_body=_cell(columns, cells, MESSAGE),
            message_language=_cell(columns, cells, LANGUAGE),
        )
    except ValidationError as exc:
        # Validated once; only a refused address or URL is checked again, for a message
        # that names the file's column rather than the API's field.
        if exc.code == "InvalidEmailAddress":
            parse_email(email or "", field=EMAIL)
        elif exc.code == "InvalidRedirectUrl" and redirect is not None:
            check_redirect_url(redirect, field=REDIRECT)
        raise


def requester_and_guest(columns: Columns, cells: Sequence[str]) -> tuple[str | None, str]:
    """A row's requestedBy and guest address as the file gives them, without checking the
    rest again: for a row that was invited already (its job's summary)."""
    return _cell(columns, cells, REQUESTER), _cell(columns, cells, EMAIL) or ""


def row_error(number: int, exc: GuestgateError) -> GuestgateError:
    """A row's validation error, naming the row and the column."""
    column = COLUMN_OF_CODE.get(exc.code)
    where = f"Row {number}" + ("" if column is None else f", column {column}")
    return ValidationError(f"{where}: {exc.message}", code=exc.code)


def parse_row(columns: Columns, number: int, cells: Sequence[str]) -> ParsedRow:
    kept = tuple(cells)
    first = cells[0].strip() if cells else ""
    if first.lower().startswith("example:"):
        return ParsedRow(number=number, cells=kept, request=None, skipped=True)
    try:
        return ParsedRow(number=number, cells=kept, request=request_of(columns, cells))
    except GuestgateError as exc:
        return ParsedRow(number=number, cells=kept, request=None, error=row_error(number, exc))


def _once(row: ParsedRow, first_row_of: dict[str, int]) -> ParsedRow:
    """A second row for one guest fails: inviting again would mail them twice, and the link
    of the first mail would stop working."""
    if row.request is None:
        return row
    first = first_row_of.setdefault(row.request.email.key, row.number)
    if first == row.number:
        return row
    again = ValidationError(
        f"{row.request.email.address} is also in row {first}; a file invites each guest once.",
        code="DuplicateAddress",
    )
    return ParsedRow(row.number, row.cells, None, error=row_error(row.number, again))


def parse(data: bytes) -> BulkFile:
    """Read a bulk-invite file: Entra's template or plain CSV (the module's docstring)."""
    records = iter(_records(decode(data)))
    first = next(records, None)
    if first is None:
        raise _file_error("The file is empty.", "InvalidCsvHeadings")
    number, cells = first
    entra = bool(cells) and cells[0].strip().lower().startswith("version:")
    if entra:
        # Excel may save the line as `version:v1.0,,,`: empty trailing cells are accepted.
        if cells[0].strip() != VERSION or any(c.strip() for c in cells[1:]):
            raise _file_error(
                f"Row 1: the version line must be {VERSION}, as in Entra's template.",
                "InvalidCsvVersion",
            )
        heading_row = next(records, None)
        if heading_row is None:
            raise _file_error("Row 2: the file has no heading row.", "InvalidCsvHeadings")
        number, cells = heading_row
    columns = columns_of(cells, entra=entra)
    rows: list[ParsedRow] = []
    commas = False
    first_row_of: dict[str, int] = {}  # each address's identity key, by the row naming it
    for number, cells in records:
        if not any(c.strip() for c in cells):
            continue  # blank lines (Excel leaves some at the end) are no rows
        if len(rows) >= MAX_ROWS:
            raise _file_error(f"The file has more than {MAX_ROWS} rows.", "CsvTooManyRows")
        row = _once(parse_row(columns, number, cells), first_row_of)
        commas = commas or "," in (_cell(columns, cells, MESSAGE) or "")
        rows.append(row)
    warnings: tuple[str, ...] = ()
    if commas and entra:
        warnings = (
            "A customized message holds a comma: guestgate reads it, but Entra's portal"
            " would split the cell there.",
        )
    return BulkFile(columns=columns, rows=tuple(rows), warnings=warnings)


def spreadsheet_safe(cell: str) -> str:
    """A cell a spreadsheet shows as text: one that would start a formula gets a `'`."""
    return "'" + cell if cell.startswith(_FORMULA_START) else cell


@dataclass(frozen=True, slots=True)
class ResultRow:
    cells: tuple[str, ...]
    status: str  # SUCCESS, FAILURE, SKIPPED, PENDING_APPROVAL, or a row still to do ("Pending")
    error_code: str = ""
    error_message: str = ""
    user_id: str = ""
    redeem_url: str = ""


def results_csv(headings: Sequence[str], rows: Iterable[ResultRow]) -> str:
    """The results file: the file's columns, row for row, then status, error code, error
    message, user id and inviteRedeemUrl. UTF-8 with a byte-order mark, so Excel reads it
    as UTF-8; every cell spreadsheet-safe."""
    out = io.StringIO()
    out.write(BOM)
    writer = csv.writer(out, lineterminator="\r\n")
    width = len(headings)
    writer.writerow([spreadsheet_safe(h) for h in (*headings, *RESULT_HEADINGS)])
    for row in rows:
        cells = (*row.cells[:width], *([""] * (width - len(row.cells))))
        extra = (row.status, row.error_code, row.error_message, row.user_id, row.redeem_url)
        writer.writerow([spreadsheet_safe(c) for c in (*cells, *extra)])
    return out.getvalue()
