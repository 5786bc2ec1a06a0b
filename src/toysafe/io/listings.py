"""Read marketplace listing files (Amazon reports, flat files, plain CSV): strict, all or nothing.

Accepted: the tab-delimited All Listings / inventory report (``seller-sku``, ``asin1``,
``product-id`` + ``product-id-type``), a listing flat file (CSV or tab, with up to a few
``TemplateType=...`` / label rows above the header; ``item_sku``, ``external_product_id`` +
``external_product_id_type``) and a plain ``sku,asin[,title,status,marketplace]`` CSV.
Columns are found by header name, ignoring case, spaces, ``_`` and ``-``. The report's own
``listing-id`` column is Amazon's internal id, not the ASIN, and is ignored.
"""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path
from typing import Any

from toysafe.io.errors import InputError, malformed_csv_is_input_error
from toysafe.io.text import MB, check_text, read_text

SKU_COLUMNS = ("seller-sku", "item_sku", "sku")
ASIN_COLUMNS = ("asin1", "asin", "merchant_suggested_asin")
# (id column, id-type column, type values meaning "this id is an ASIN")
TYPED_ID_COLUMNS = (
    ("product-id", "product-id-type", {"1", "ASIN"}),
    ("external_product_id", "external_product_id_type", {"ASIN"}),
)
TITLE_COLUMNS = ("item-name", "item_name", "title")
MAX_LENGTH = {"marketplace": 60, "sku": 100, "status": 40}  # the workspace's column sizes
HEADER_ROWS = 5
ASIN = re.compile(r"[A-Z0-9]{10}")


def read_listings_file(path: Path, marketplace: str = "amazon.com") -> list[dict[str, Any]]:
    """Read a listing file (UTF-8, or Windows-1252 for Amazon's legacy exports)."""
    text = read_text(path, limit=200 * MB, fallback="cp1252")
    return read_listings(text, str(path), marketplace)


def _key(name: str) -> str:
    return re.sub(r"[\s_\-\ufeff]", "", name).lower()


def _cell(value: str, tab: bool) -> str:
    """Strip a cell; in tab files (read unquoted) undo Excel's ``"..."`` quoting if present."""
    value = value.strip()
    if tab and len(value) >= 2 and value[0] == value[-1] == '"':
        inner = value[1:-1]
        if '"' not in inner.replace('""', ""):
            value = inner.replace('""', '"').strip()
    return value


def _find_header(buf: io.StringIO) -> tuple[int, str, list[str]] | None:
    """(line number, delimiter, cells) of the header among the first rows; ``buf`` is left
    just past it. A row of labels (``Seller SKU``) directly above the real header is skipped."""
    lines = [buf.readline() for _ in range(HEADER_ROWS + 1)]
    rows = []
    for line in lines:
        delimiter = "\t" if "\t" in line else ","
        cells = next(csv.reader([line], delimiter=delimiter), [])
        rows.append((delimiter, [_cell(c, delimiter == "\t") for c in cells]))
    skus = {_key(c) for c in SKU_COLUMNS}
    for i, (delimiter, cells) in enumerate(rows[:HEADER_ROWS]):
        at = next((j for j, c in enumerate(cells) if _key(c) in skus), None)
        if at is None:
            continue
        below = rows[i + 1][1]
        if at < len(below) and _key(below[at]) in skus:
            continue  # labels above the machine-readable header
        buf.seek(0)
        for _ in range(i + 1):
            buf.readline()
        return i + 1, delimiter, cells
    return None


@malformed_csv_is_input_error
def read_listings(text: str, source: str, marketplace: str = "amazon.com") -> list[dict[str, Any]]:
    """Rows {"marketplace", "listing_id", "sku", "title", "status"}; all or nothing."""
    check_text(text, source)
    buf = io.StringIO(text.removeprefix("\ufeff"), newline="")
    found = _find_header(buf)
    if found is None:
        raise InputError(
            f"{source} header: no SKU column (expected one of {', '.join(SKU_COLUMNS)}) "
            f"in the first {HEADER_ROWS} rows"
        )
    header_line, delimiter, header = found
    index: dict[str, int] = {}
    for i, name in enumerate(header):
        index.setdefault(_key(name), i)

    def col(*names: str) -> int | None:
        return next((index[_key(n)] for n in names if _key(n) in index), None)

    sku_col = col(*SKU_COLUMNS)
    asin_cols = [c for n in ASIN_COLUMNS if (c := col(n)) is not None]
    typed = [
        (c, t, values)
        for id_name, type_name, values in TYPED_ID_COLUMNS
        if (c := col(id_name)) is not None and (t := col(type_name)) is not None
    ]
    title_col, status_col, market_col = col(*TITLE_COLUMNS), col("status"), col("marketplace")
    assert sku_col is not None  # _find_header found one
    if not asin_cols and not typed:
        expected = [*ASIN_COLUMNS, *(f"{i} with {t}" for i, t, _ in TYPED_ID_COLUMNS)]
        raise InputError(f"{source} header: no ASIN column (expected one of {', '.join(expected)})")

    tab = delimiter == "\t"
    reader = csv.reader(
        buf, delimiter=delimiter, quoting=csv.QUOTE_NONE if tab else csv.QUOTE_MINIMAL
    )
    rows: list[dict[str, Any]] = []
    first: dict[tuple[str, str, str], tuple[int, dict[str, Any]]] = {}
    errors: list[str] = []
    last = 0
    for raw in reader:
        line, last = header_line + last + 1, reader.line_num
        cells = [_cell(c, tab) for c in raw]
        if not any(cells):
            continue

        def get(i: int | None, cells: list[str] = cells) -> str:
            return cells[i] if i is not None and i < len(cells) else ""

        where = f"{source} line {line}: "
        problems: list[str] = []
        sku = get(sku_col)
        if not sku:
            problems.append(f"{header[sku_col]}: is required")
        sources = asin_cols + [i for i, t, values in typed if get(t).upper() in values]
        asin_at = next((i for i in sources if get(i)), None)
        asin = get(asin_at).upper()
        if asin_at is None:
            if sources:
                problems.append(f"{header[sources[0]]}: is required (the listing's ASIN)")
            else:
                t = typed[0][1]
                problems.append(f"{header[t]}: '{get(t)}' is not ASIN, so the row has no ASIN")
        elif not ASIN.fullmatch(asin):
            problems.append(
                f"{header[asin_at]}: '{get(asin_at)}' is not an ASIN (10 letters or digits)"
            )
        row: dict[str, Any] = {
            "marketplace": (get(market_col) or marketplace).strip().lower(),
            "listing_id": asin,
            "sku": sku,
            "title": get(title_col) or None,
            "status": get(status_col) or None,
        }
        for field, limit in MAX_LENGTH.items():
            if row[field] and len(row[field]) > limit:
                problems.append(f"{field}: longer than {limit} characters")
        if problems:
            errors.extend(where + p for p in problems)
            continue
        # One ASIN may carry several of the seller's SKUs (e.g. FBA and merchant-fulfilled).
        seen_line, seen = first.setdefault((row["marketplace"], asin, sku), (line, row))
        if seen is row:
            rows.append(row)
        elif seen != row:
            field = "title" if seen["title"] != row["title"] else "status"
            errors.append(
                f"{where}{field}: '{row[field]}' differs from line {seen_line} for ASIN {asin}"
            )
    if errors:
        raise InputError("\n".join(errors))
    return rows
