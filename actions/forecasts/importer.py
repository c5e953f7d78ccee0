"""Import the public Hotel Booking Demand format (Antonio et al., 2019), from a CSV or a zip.

A row that cannot be read is reported by its line number and skipped; the rest is stored.
Re-importing the same file adds nothing: each row's key is the hash of its content and of its
occurrence number among identical rows (the dataset has many identical group bookings).
"""

from __future__ import annotations

import csv
import hashlib
import re
import zipfile
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from tqdm import tqdm

from actions.forecasts.history import store
from bot.stores.database import Database

MONTHS = {
    name: number
    for number, name in enumerate(
        [
            "January",
            "February",
            "March",
            "April",
            "May",
            "June",
            "July",
            "August",
            "September",
            "October",
            "November",
            "December",
        ],
        start=1,
    )
}
REQUIRED = (
    "hotel", "is_canceled", "lead_time", "arrival_date_year", "arrival_date_month",
    "arrival_date_day_of_month", "stays_in_weekend_nights", "stays_in_week_nights", "adults",
    "children", "babies", "meal", "country", "market_segment", "distribution_channel",
    "is_repeated_guest", "previous_cancellations", "previous_bookings_not_canceled",
    "reserved_room_type", "deposit_type", "agent", "company", "customer_type", "adr",
    "required_car_parking_spaces", "total_of_special_requests", "reservation_status_date",
)  # fmt: skip
LEAKS = (
    "reservation_status", "reservation_status_date", "assigned_room_type", "booking_changes",
    "days_in_waiting_list", "arrival_date_week_number",
)  # fmt: skip
"""Kept in ``extra`` only: known after the booking (see docs/forecasts.md)."""
MISSING = {"", "NA", "NULL", "nan"}


class ImportFailed(Exception):
    """The file cannot be imported at all (unreadable, not the expected columns)."""


@dataclass(slots=True)
class ImportReport:
    read: int = 0
    stored: int = 0
    errors: list[tuple[int, str]] = field(default_factory=list)

    @property
    def skipped(self) -> int:
        return len(self.errors)


def slug(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")


def read_lines(path: Path) -> list[str]:
    """The CSV's text lines, from the file itself or the single CSV inside a zip."""
    try:
        if zipfile.is_zipfile(path):
            with zipfile.ZipFile(path) as archive:
                names = [name for name in archive.namelist() if name.lower().endswith(".csv")]
                if len(names) != 1:
                    raise ImportFailed(f"{path.name}: expected one CSV inside, found {len(names)}")
                raw = archive.read(names[0])
        else:
            raw = path.read_bytes()
        return raw.decode("utf-8-sig").splitlines()
    except (OSError, UnicodeDecodeError, zipfile.BadZipFile) as error:
        raise ImportFailed(f"{path.name}: {error}") from error


def parse_rows(
    lines: list[str], source: str, property_name: str | None = None, progress: bool = False
) -> tuple[list[dict[str, Any]], list[tuple[int, str]]]:
    """Rows ready to store, and (line number, reason) for each row that was skipped."""
    reader = csv.reader(lines)
    header = next(reader, None)
    if header is None:
        raise ImportFailed("the file is empty")
    missing = [column for column in REQUIRED if column not in header]
    if missing:
        raise ImportFailed(f"missing columns: {', '.join(missing)}")
    seen: Counter[str] = Counter()
    rows, errors = [], []
    body: Iterable[list[str]] = reader
    if progress:
        body = tqdm(reader, total=len(lines) - 1, desc="reading", unit="row")
    for line, values in enumerate(body, start=2):
        if len(values) != len(header):
            errors.append((line, f"{len(values)} fields instead of {len(header)}"))
            continue
        record = dict(zip(header, values, strict=True))
        try:
            row = _row(record, property_name)
        except (KeyError, ValueError) as error:
            errors.append((line, str(error) or type(error).__name__))
            continue
        content = ",".join(values)
        seen[content] += 1
        row["source"] = source
        row["row_key"] = hashlib.sha256(f"{content}#{seen[content]}".encode()).hexdigest()
        rows.append(row)
    return rows, errors


async def import_file(
    database: Database, path: Path, property_name: str | None = None, progress: bool = True
) -> ImportReport:
    lines = read_lines(path)
    rows, errors = parse_rows(lines, f"import:{path.name}", property_name, progress)
    stored = 0
    batches = range(0, len(rows), 10_000)
    for start in tqdm(batches, desc="storing", unit="batch", disable=not progress):
        stored += await store(database, rows[start : start + 10_000])
    return ImportReport(read=len(rows) + len(errors), stored=stored, errors=errors)


def _row(record: dict[str, str], property_name: str | None) -> dict[str, Any]:
    arrival = date(
        _int(record, "arrival_date_year"),
        MONTHS[record["arrival_date_month"].strip().capitalize()],
        _int(record, "arrival_date_day_of_month"),
    )
    lead = _int(record, "lead_time")
    canceled = _int(record, "is_canceled")
    if canceled not in (0, 1) or lead < 0:
        raise ValueError("is_canceled must be 0 or 1 and lead_time not negative")
    status_date = _date(record["reservation_status_date"])
    weekend, week = _int(record, "stays_in_weekend_nights"), _int(record, "stays_in_week_nights")
    return {
        "property": slug(property_name or record["hotel"]),
        "room_type": _text(record, "reserved_room_type"),
        "booked_on": arrival - timedelta(days=lead),
        "arrival": arrival,
        "nights": weekend + week,
        "weekend_nights": weekend,
        "adults": _int(record, "adults"),
        "children": _int(record, "children"),
        "babies": _int(record, "babies"),
        "adr": float(record["adr"]),
        "is_canceled": bool(canceled),
        "cancelled_on": status_date if canceled else None,
        "meal": _text(record, "meal"),
        "country": _text(record, "country")[:8],
        "market_segment": _text(record, "market_segment"),
        "distribution_channel": _text(record, "distribution_channel"),
        "deposit_type": _text(record, "deposit_type"),
        "customer_type": _text(record, "customer_type"),
        "agent": _text(record, "agent"),
        "company": _text(record, "company"),
        "is_repeated_guest": bool(_int(record, "is_repeated_guest")),
        "previous_cancellations": _int(record, "previous_cancellations"),
        "previous_bookings_not_canceled": _int(record, "previous_bookings_not_canceled"),
        "parking_spaces": _int(record, "required_car_parking_spaces"),
        "special_requests": _int(record, "total_of_special_requests"),
        "extra": {column: record[column] for column in LEAKS if column in record},
    }


def _int(record: dict[str, str], column: str) -> int:
    value = record[column].strip()
    if value in MISSING:
        if column in ("children", "babies"):
            return 0
        raise ValueError(f"{column} is empty")
    try:
        return int(float(value))
    except ValueError:
        raise ValueError(f"{column} is not a number: {value[:20]!r}") from None


def _date(value: str) -> date:
    """ISO dates, or the month/day/year of the file as distributed (``7/1/2015``)."""
    for layout in ("%Y-%m-%d", "%m/%d/%Y"):
        try:
            return datetime.strptime(value.strip(), layout).date()
        except ValueError:
            continue
    raise ValueError(f"reservation_status_date is not a date: {value[:20]!r}")


def _text(record: dict[str, str], column: str) -> str:
    value = record[column].strip()
    return "none" if value in MISSING else value[:40]


def public_rows(path: Path) -> Iterator[dict[str, Any]]:
    """The benchmark's reader: the file's rows without touching a database."""
    rows, _ = parse_rows(read_lines(path), f"import:{path.name}")
    yield from rows
