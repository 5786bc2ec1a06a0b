"""Read bulk input: JSON Lines of ``toysafe/product@1`` or Parquet with one profile per row.

JSON Lines are validated line by line by the same model as ``toysafe assess``. Parquet is checked
column-wise (the vocabulary, ranges and formats the profile model enforces); the first bad row is
then re-read through the profile model, so its message names the row and the field exactly as
``toysafe assess`` would. Either way the result is the nested Arrow table of ``tables``.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from toysafe.bulk.tables import FEATURE_TYPE, NESTED_SCHEMA, nested_row
from toysafe.core.law.profile import Profile
from toysafe.core.law.vocabulary import FEATURES, FIBERS, MATERIALS
from toysafe.io.errors import InputError
from toysafe.io.profiles import profile_from_data

Progress = Callable[[int], None]


def read_jsonl(path: Path, progress: Progress | None = None) -> pa.Table:
    """Every line a profile (blank lines skipped); ``progress`` gets the bytes read."""
    rows = []
    try:
        fh = path.open("rb")
    except OSError as e:
        raise InputError(f"{path}: cannot read: {e.strerror}") from None
    with fh:
        for n, raw in enumerate(fh, 1):
            if progress:
                progress(len(raw))
            line = raw.strip()
            if not line:
                continue
            try:
                data = json.loads(line)
            except (json.JSONDecodeError, UnicodeDecodeError) as e:
                raise InputError(f"{path} line {n}: not valid JSON: {e}") from None
            rows.append(nested_row(profile_from_data(data, f"{path} line {n}")))
    return pa.Table.from_pylist(rows, schema=NESTED_SCHEMA)


# --- Parquet ----------------------------------------------------------------------------------

_REQUIRED = ("sku", "name", "age")
_COMPONENT_ID = r"^[A-Za-z0-9][A-Za-z0-9_.-]*$"


def _conform_struct_list(col: pa.ChunkedArray, target: pa.DataType, name: str) -> pa.Array:
    """A list<struct> column with the target's fields (missing ones null, order fixed)."""
    arr = col.combine_chunks()
    if (
        pa.types.is_list(arr.type)
        and pa.types.is_string(arr.type.value_type)
        and name == "features"
    ):
        values = pa.StructArray.from_arrays(
            [arr.values] + [pa.nulls(len(arr.values), f.type) for f in list(target.value_type)[1:]],
            fields=list(target.value_type),
        )
        return pa.ListArray.from_arrays(arr.offsets, values, mask=arr.is_null())
    if not (pa.types.is_list(arr.type) or pa.types.is_large_list(arr.type)):
        raise InputError(f"column '{name}': expected a list of mappings")
    if not pa.types.is_struct(arr.type.value_type):
        raise InputError(f"column '{name}': expected a list of mappings")
    flat = arr.values
    have = {f.name for f in arr.type.value_type}
    extra = sorted(have - {f.name for f in target.value_type})
    if extra:
        raise InputError(f"column '{name}': field '{extra[0]}' is not a known field")
    fields = []
    for f in target.value_type:
        if f.name in have:
            try:
                fields.append(pc.cast(pc.struct_field(flat, f.name), f.type))
            except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
                raise InputError(f"column '{name}': field '{f.name}' must be {f.type}") from None
        else:
            fields.append(pa.nulls(len(flat), f.type))
    values = pa.StructArray.from_arrays(fields, fields=list(target.value_type))
    offsets = pc.cast(arr.offsets, pa.int32())
    return pa.ListArray.from_arrays(offsets, values, mask=arr.is_null())


def _conform(table: pa.Table) -> pa.Table:
    known = set(Profile.model_fields)
    for name in table.column_names:
        if name not in known:
            raise InputError(f"column '{name}': is not a known field")
    for name in _REQUIRED:
        if name not in table.column_names:
            raise InputError(f"column '{name}': is required")
    cols = []
    for f in NESTED_SCHEMA:
        if f.name not in table.column_names:
            cols.append(pa.nulls(table.num_rows, f.type))
        elif f.name in ("features", "components"):
            cols.append(_conform_struct_list(table.column(f.name), f.type, f.name))
        elif f.name == "age":
            age = table.column("age").combine_chunks()
            if not pa.types.is_struct(age.type) or "min_months" not in {x.name for x in age.type}:
                raise InputError("column 'age': expected a mapping with min_months")
            parts = [
                pc.cast(pc.struct_field(age, x.name), pa.int32())
                if x.name in {y.name for y in age.type}
                else pa.nulls(len(age), pa.int32())
                for x in f.type
            ]
            cols.append(pa.StructArray.from_arrays(parts, fields=list(f.type), mask=age.is_null()))
        else:
            try:
                cols.append(pc.cast(table.column(f.name).combine_chunks(), f.type))
            except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
                raise InputError(f"column '{f.name}': must be {f.type}") from None
    return pa.Table.from_arrays(cols, schema=NESTED_SCHEMA)


def _not_in(values: pa.Array, allowed: list[str]) -> np.ndarray:
    return np.asarray(pc.fill_null(pc.invert(pc.is_in(values, pa.array(allowed))), True))


def _duplicates(parents: np.ndarray, keys: pa.Array) -> np.ndarray:
    """Rows (by parent) where a key repeats."""
    if len(parents) == 0:
        return parents
    codes = np.asarray(pc.dictionary_encode(pc.fill_null(keys, "")).indices)
    pairs = parents.astype(np.int64) * (int(codes.max()) + 1) + codes
    _, first, counts = np.unique(pairs, return_index=True, return_counts=True)
    return np.asarray(parents[first[counts > 1]], dtype=np.int64)


def _bad_age_determination(t: pa.Table) -> np.ndarray:
    det = t.column("age_determination").combine_chunks()
    age = pc.struct_field(det, "min_months")
    by = pc.utf8_length(pc.utf8_trim_whitespace(pc.struct_field(det, "by")))
    wrong = pc.or_(
        pc.or_(pc.fill_null(pc.less(age, 0), True), pc.fill_null(pc.greater(age, 1200), True)),
        pc.fill_null(pc.less(by, 3), True),
    )
    return np.asarray(pc.and_(pc.is_valid(det), wrong))


def _bad_rows(t: pa.Table) -> np.ndarray:
    """Indices of rows that break a rule of the profile model (column-wise checks)."""
    n = t.num_rows
    bad = np.zeros(n, dtype=bool)
    sku = pc.utf8_trim_whitespace(t.column("sku").combine_chunks())
    bad |= np.asarray(
        pc.fill_null(
            pc.invert(
                pc.and_(pc.greater(pc.utf8_length(sku), 0), pc.less_equal(pc.utf8_length(sku), 100))
            ),
            True,
        )
    )
    name = pc.utf8_trim_whitespace(t.column("name").combine_chunks())
    bad |= np.asarray(pc.fill_null(pc.equal(pc.utf8_length(name), 0), True))
    age = t.column("age").combine_chunks()
    lo = pc.struct_field(age, "min_months")
    hi = pc.struct_field(age, "max_months")
    bad |= np.asarray(pc.fill_null(pc.or_(pc.less(lo, 0), pc.greater(lo, 1200)), True))
    bad |= np.asarray(
        pc.fill_null(pc.or_(pc.or_(pc.less(hi, 0), pc.greater(hi, 1200)), pc.less(hi, lo)), False)
    )
    if "age_determination" in t.column_names:
        bad |= _bad_age_determination(t)
    made = t.column("manufactured").combine_chunks()
    length = pc.utf8_length(made)
    day_text = pc.if_else(pc.equal(length, 7), pc.binary_join_element_wise(made, "01", "-"), made)
    shaped = pc.match_substring_regex(made, r"^\d{4}-\d{2}(-\d{2})?$")
    parsed = pc.strptime(day_text, format="%Y-%m-%d", unit="s", error_is_null=True)
    bad |= np.asarray(
        pc.and_(
            pc.is_valid(made), pc.or_(pc.invert(pc.fill_null(shaped, False)), pc.is_null(parsed))
        )
    )
    feats = t.column("features").combine_chunks()
    flat = pc.list_flatten(feats)
    parents = np.asarray(pc.list_parent_indices(feats))
    fname = pc.struct_field(flat, "name")
    wrong = _not_in(fname, sorted(FEATURES))
    for param in [f.name for f in FEATURE_TYPE][1:]:
        value = pc.struct_field(flat, param)
        given = np.asarray(pc.is_valid(value))
        owners = [n for n, f in FEATURES.items() if param in f.params]
        wrong |= given & _not_in(fname, owners)
        for owner in owners:
            spec = FEATURES[owner].params[param]
            if isinstance(spec, tuple):
                is_owner = np.asarray(pc.fill_null(pc.equal(fname, owner), False))
                wrong |= given & is_owner & _not_in(value, list(spec))
    bad[parents[wrong]] = True
    bad[_duplicates(parents, fname)] = True
    comps = t.column("components").combine_chunks()
    cflat = pc.list_flatten(comps)
    cparents = np.asarray(pc.list_parent_indices(comps))
    cid = pc.struct_field(cflat, "id")
    cwrong = np.asarray(pc.fill_null(pc.invert(pc.match_substring_regex(cid, _COMPONENT_ID)), True))
    cwrong |= _not_in(pc.struct_field(cflat, "material"), sorted(MATERIALS))
    fiber = pc.struct_field(cflat, "fiber")
    cwrong |= np.asarray(pc.is_valid(fiber)) & _not_in(fiber, list(FIBERS))
    bad[cparents[cwrong]] = True
    bad[_duplicates(cparents, cid)] = True
    return np.flatnonzero(bad)


def _row_data(raw: dict[str, Any]) -> dict[str, Any]:
    """One Parquet row as profile data (a null is an omitted field)."""
    data = {k: v for k, v in raw.items() if v is not None}
    if isinstance(data.get("age"), dict):
        data["age"] = {k: v for k, v in data["age"].items() if v is not None}
    if "features" in data:
        feats: list[Any] = []
        for f in data["features"]:
            if isinstance(f, str):
                feats.append(f)
                continue
            params = {k: v for k, v in f.items() if k != "name" and v is not None}
            feats.append({f.get("name"): params} if params else f.get("name"))
        data["features"] = feats
    if "components" in data:
        data["components"] = [
            {k: v for k, v in c.items() if v is not None} for c in data["components"]
        ]
    return data


def _row_error(raw_table: pa.Table, i: int, source: str, fallback: str) -> InputError:
    data = _row_data(raw_table.slice(i, 1).to_pylist()[0])
    try:
        profile_from_data(data, f"{source} row {i + 1}")
    except InputError as e:
        return e
    return InputError(f"{source} row {i + 1}: {fallback}")


def _other_fields(raw: pa.Table, source: str) -> None:
    """Columns the rules do not read (gtin, made_in, ...) go through the profile model, once per
    distinct value."""
    base = {"sku": "x", "name": "x", "age": {"min_months": 0}}
    nested = {f.name for f in NESTED_SCHEMA}
    for name in raw.column_names:
        if name in nested:
            continue
        col = raw.column(name)
        seen: dict[str, int] = {}
        for i, v in enumerate(col.to_pylist()):
            if v is None:
                continue
            key = json.dumps(v, sort_keys=True, default=str)
            if key in seen:
                continue
            seen[key] = i
            try:
                profile_from_data({**base, name: v})
            except InputError:
                raise _row_error(raw, i, source, f"{name}: is not valid") from None


def read_parquet(path: Path) -> pa.Table:
    """Profiles from a Parquet file (one per row), checked; the nested table."""
    try:
        raw = pq.read_table(path)
    except (OSError, pa.ArrowInvalid) as e:
        raise InputError(f"{path}: cannot read as Parquet: {e}") from None
    table = _conform(raw)
    bad = _bad_rows(table)
    if len(bad):
        raise _row_error(raw, int(bad[0]), str(path), "a field breaks the profile format")
    _other_fields(raw, str(path))
    return table


def read_input(path: Path, progress: Progress | None = None) -> pa.Table:
    if path.suffix.lower() in (".parquet", ".pq"):
        return read_parquet(path)
    return read_jsonl(path, progress)
