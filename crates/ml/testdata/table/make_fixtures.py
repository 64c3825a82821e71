"""Writes the Parquet fixtures of crates/ml/tests/table.rs with pandas and pyarrow.

Run from this folder: python make_fixtures.py (see README.md for the versions used).
"""

import datetime
import decimal

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

# Every stored type the reader maps, two row groups, a non-default index (stored by pyarrow as
# the column __index_level_0__, which the reader skips), snappy compression.
frame = pd.DataFrame(
    {
        "int": [1, -2, 3, 40],
        "float": [0.5, float("nan"), 1e-3, 2.0],
        "text": ["a", None, "b,c", "NA"],
        "digits": ["1", "2", "3", "4"],
        "flag": [True, False, True, True],
        "day": [datetime.date(2024, 1, 31), None, datetime.date(1970, 1, 1), datetime.date(1969, 12, 31)],
        "when": pd.to_datetime(["2024-01-31 12:00:00", "2024-01-31 12:00:00.000001", None, "1970-01-01"], format="ISO8601").as_unit("us"),
        "price": [decimal.Decimal("123.45"), decimal.Decimal("-0.05"), None, decimal.Decimal("7.00")],
    },
    index=[10, 11, 12, 13],
)
table = pa.Table.from_pandas(frame).cast(
    pa.schema(
        [
            ("int", pa.int64()),
            ("float", pa.float64()),
            ("text", pa.string()),
            ("digits", pa.string()),
            ("flag", pa.bool_()),
            ("day", pa.date32()),
            ("when", pa.timestamp("us")),
            ("price", pa.decimal128(5, 2)),
            ("__index_level_0__", pa.int64()),
        ],
        metadata=pa.Table.from_pandas(frame).schema.metadata,
    )
)
table = table.append_column("small", pa.array([1, 2, 3, 4], pa.uint32()))
pq.write_table(table, "mixed.parquet", row_group_size=2, compression="snappy")

# A list column: nested, which the reader refuses naming the column.
pq.write_table(pa.table({"ok": [1, 2], "tags": [["a"], ["b", "c"]]}), "nested.parquet")

# FIXED_LEN_BYTE_ARRAY without a DECIMAL annotation.
pq.write_table(pa.table({"id": pa.array([b"abcd", b"efgh"], pa.binary(4))}), "fixed.parquet")

# Brotli, a codec this build leaves out.
pq.write_table(pa.table({"x": [1.0, 2.0]}), "brotli.parquet", compression="brotli")

# INT96 timestamps, as Spark and Impala write them.
pq.write_table(
    pa.table({"ts": pa.array([datetime.datetime(2024, 1, 31, 12, 0, 0, 500000), None], pa.timestamp("ns"))}),
    "int96.parquet",
    use_deprecated_int96_timestamps=True,
)

print(pd.__version__, pa.__version__)
