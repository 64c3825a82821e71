"""Writes one frame as pandas' CSV and as Parquet in several layouts, into the folder argv[1].

Run by the test parquet_from_pandas_matches_pandas_csv with the Python in VIGIL_PYTHON; prints
the layouts' names, comma-separated.
"""

import sys
import numpy as np
import pandas as pd

out = sys.argv[1]
n = 20_000
rng = np.random.default_rng(7)
words = np.array(["a", "b,c", 'say "hi"', "NA", "two\nlines", "Zürich", "None"], dtype=object)
text = words[rng.integers(0, len(words), n)]
text[::5] = None
floats = rng.normal(0.0, 1e3, n)
floats[::7] = np.nan
frame = pd.DataFrame({
    "int": rng.integers(-1_000_000, 1_000_000, n),
    "float": floats,
    "text": text,
    "flag": rng.random(n) < 0.3,
    "tiny": rng.random(n) * 1e-300,
    "level": rng.integers(0, 3, n),
})
frame.to_csv(f"{out}/frame.csv", index=False)
layouts = {
    "snappy": dict(compression="snappy", row_group_size=3_000),
    "zstd": dict(compression="zstd", row_group_size=15_000),
    "gzip": dict(compression="gzip", row_group_size=7_000),
    "lz4": dict(compression="lz4"),
    "plain": dict(compression="none", use_dictionary=False, row_group_size=9_999),
    "v2": dict(compression="zstd", data_page_version="2.0", row_group_size=11_000),
}
for name, options in layouts.items():
    frame.to_parquet(f"{out}/{name}.parquet", engine="pyarrow", index=False, **options)
print(",".join(layouts))
