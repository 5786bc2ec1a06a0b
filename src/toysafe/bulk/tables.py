"""Profiles as Arrow tables: the nested form (one profile per row, the Parquet input) and the flat
form the compiled plan reads (``products`` with one column per feature and parameter, exploded
``components``).

The nested schema mirrors ``toysafe/product@1``: every profile field is a column of the same name;
``age``, ``made_in`` are structs; ``features`` is a list of ``{name, <parameter>...}`` structs (the
parameter columns come from the feature vocabulary); ``components`` a list of component structs. In
Parquet a null stands for an omitted field (its default applies).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from toysafe.bulk.compile import feature_column, param_column
from toysafe.core.law.profile import Profile
from toysafe.core.law.vocabulary import FEATURES


def _param_type(spec: Any) -> pa.DataType:
    return pa.bool_() if spec is bool else pa.string()


#: Every feature parameter of the vocabulary, with its Arrow type.
FEATURE_PARAMS: dict[str, pa.DataType] = {}
for _f in FEATURES.values():
    for _p, _spec in _f.params.items():
        FEATURE_PARAMS.setdefault(_p, _param_type(_spec))

FEATURE_TYPE = pa.struct([("name", pa.string())] + list(FEATURE_PARAMS.items()))
COMPONENT_TYPE = pa.struct(
    [
        ("id", pa.string()),
        ("name", pa.string()),
        ("material", pa.string()),
        ("accessible", pa.bool_()),
        ("mouth_contact", pa.bool_()),
        ("small_part", pa.bool_()),
        ("fiber", pa.string()),
        ("unfinished", pa.bool_()),
    ]
)
#: The nested columns the plan reads (a Parquet input may carry every other profile field too).
NESTED_SCHEMA = pa.schema(
    [
        ("sku", pa.string()),
        ("name", pa.string()),
        ("age", pa.struct([("min_months", pa.int32()), ("max_months", pa.int32())])),
        ("children_product", pa.bool_()),
        ("toy", pa.bool_()),
        ("manufactured", pa.string()),
        ("features", pa.list_(FEATURE_TYPE)),
        ("components", pa.list_(COMPONENT_TYPE)),
    ]
)
#: An age determination (CPSC, a court) outranks the label, where the profile model has it.
AGE_DETERMINATION = "age_determination" in Profile.model_fields
if AGE_DETERMINATION:
    NESTED_SCHEMA = NESTED_SCHEMA.append(
        pa.field("age_determination", pa.struct([("min_months", pa.int32()), ("by", pa.string())]))
    )


def nested_row(p: Profile) -> dict[str, Any]:
    """A validated profile as one row of the nested schema."""
    row = _row(p)
    if AGE_DETERMINATION:
        row["age_determination"] = _age_determination(p)
    return row


def _row(p: Profile) -> dict[str, Any]:
    return {
        "sku": p.sku,
        "name": p.name,
        "age": {"min_months": p.age.min_months, "max_months": p.age.max_months},
        "children_product": p.children_product,
        "toy": p.toy,
        "manufactured": p.manufactured.text if p.manufactured else None,
        "features": [{"name": n, **params} for n, params in p.features.items()],
        "components": [
            {
                "id": c.id,
                "name": c.name,
                "material": c.material,
                "accessible": c.accessible,
                "mouth_contact": c.mouth_contact,
                "small_part": c.small_part,
                "fiber": c.fiber,
                "unfinished": c.unfinished,
            }
            for c in p.components
        ],
    }


def _age_determination(p: Profile) -> dict[str, Any] | None:
    det = getattr(p, "age_determination", None)
    return None if det is None else {"min_months": det.min_months, "by": det.by}


def nested_table(profiles: Iterable[Profile]) -> pa.Table:
    return pa.Table.from_pylist([nested_row(p) for p in profiles], schema=NESTED_SCHEMA)


def _bool(arr: pa.Array | pa.ChunkedArray, default: bool) -> pa.Array:
    return pc.fill_null(arr, default)


def _dates(text: pa.Array) -> tuple[pa.Array, pa.Array]:
    """(first, last) day of each ``YYYY-MM`` or ``YYYY-MM-DD`` (null stays null)."""
    is_month = pc.equal(pc.utf8_length(text), 7)
    day_text = pc.if_else(is_month, pc.binary_join_element_wise(text, "01", "-"), text)
    first = pc.cast(pc.strptime(day_text, format="%Y-%m-%d", unit="s"), pa.date32())
    f = first.to_numpy(zero_copy_only=False).astype("datetime64[D]")
    month_last = ((f.astype("datetime64[M]") + 1).astype("datetime64[D]") - 1).astype(
        "datetime64[D]"
    )
    months = is_month.to_numpy(zero_copy_only=False)
    months = np.where(np.asarray(pc.is_null(is_month)), False, months.astype(bool))
    last_np = np.where(months, month_last, f)
    mask = np.asarray(pc.is_null(first))
    last = pa.array(last_np, type=pa.date32(), mask=mask)
    return first, last


def flatten(nested: pa.Table, as_of: date | Sequence[date]) -> tuple[pa.Table, pa.Table]:
    """The nested profiles (already validated) as the ``products`` and ``components`` tables,
    assessed on ``as_of`` (one date for all, or one per row)."""
    n = nested.num_rows
    pid = pa.array(np.arange(n, dtype=np.int64))
    age = nested.column("age").combine_chunks()
    min_months = pc.cast(pc.struct_field(age, "min_months"), pa.int32())
    if "age_determination" in nested.column_names:
        det = nested.column("age_determination").combine_chunks()
        judged = pc.cast(pc.struct_field(det, "min_months"), pa.int32())
        min_months = pc.coalesce(judged, min_months)
    manufactured = nested.column("manufactured").combine_chunks()
    first, last = _dates(manufactured)
    cols: dict[str, pa.Array] = {
        "pid": pid,
        "sku": pc.utf8_trim_whitespace(nested.column("sku").combine_chunks()),
        "min_months": min_months,
        "children_product": nested.column("children_product").combine_chunks(),
        "toy": _bool(nested.column("toy").combine_chunks(), True),
        "made_first": first,
        "made_last": last,
        "as_of": pa.array(np.full(n, np.datetime64(as_of, "D")), pa.date32())
        if isinstance(as_of, date)
        else pa.array(list(as_of), pa.date32()),
    }
    feats = nested.column("features").combine_chunks()
    flat = pc.list_flatten(feats)
    parents = np.asarray(pc.list_parent_indices(feats))
    names = pc.struct_field(flat, "name")
    codes = (
        pc.dictionary_encode(names).combine_chunks()
        if isinstance(names, pa.ChunkedArray)
        else pc.dictionary_encode(names)
    )
    dictionary = codes.dictionary.to_pylist()
    indices = np.asarray(codes.indices.fill_null(-1))
    for name, feature in FEATURES.items():
        hit = np.zeros(n, dtype=bool)
        where = (
            np.flatnonzero(indices == dictionary.index(name))
            if name in dictionary
            else np.zeros(0, dtype=np.int64)
        )
        hit[parents[where]] = True
        cols[feature_column(name)] = pa.array(hit)
        for param, spec in feature.params.items():
            take = np.full(n, -1, dtype=np.int64)
            take[parents[where]] = where
            values = pc.struct_field(flat, param)
            idx = pa.array(take, mask=take < 0)
            cols[param_column(name, param)] = pc.cast(values.take(idx), _param_type(spec))
    products = pa.table(cols)
    comps = nested.column("components").combine_chunks()
    cflat = pc.list_flatten(comps)
    components = pa.table(
        {
            "pid": pc.cast(pc.list_parent_indices(comps), pa.int64()),
            "material": pc.struct_field(cflat, "material"),
            "accessible": _bool(pc.struct_field(cflat, "accessible"), True),
            "mouth_contact": pc.struct_field(cflat, "mouth_contact"),
            "small_part": _bool(pc.struct_field(cflat, "small_part"), False),
            "fiber": pc.struct_field(cflat, "fiber"),
            "unfinished": _bool(pc.struct_field(cflat, "unfinished"), False),
        }
    )
    return products, components


PRODUCTS_SCHEMA = flatten(pa.Table.from_pylist([], schema=NESTED_SCHEMA), date(2000, 1, 1))[
    0
].schema
COMPONENTS_SCHEMA = flatten(pa.Table.from_pylist([], schema=NESTED_SCHEMA), date(2000, 1, 1))[
    1
].schema
