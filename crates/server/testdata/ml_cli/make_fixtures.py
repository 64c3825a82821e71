"""Writes the Parquet and CSV fixtures of crates/server/tests/ml_cli.rs with pandas and pyarrow.

Run from this folder: python make_fixtures.py (see README.md for the versions used).
"""

import numpy as np
import pandas as pd

ROWS = 1500
rng = np.random.default_rng(20240601)


def frame(shift, plan_p, region_p, null_share):
    stable = np.round(rng.normal(0.0, 1.0, ROWS), 6)
    stable[rng.random(ROWS) < null_share] = np.nan
    return pd.DataFrame(
        {
            "stable": stable,
            "shifted": np.round(rng.normal(shift, 1.0, ROWS), 6),
            "plan": rng.choice(["basic", "pro", "team"], ROWS, p=plan_p),
            "region": rng.choice(["eu", "us", "apac"], ROWS, p=region_p),
        }
    )


reference = frame(0.0, [0.6, 0.3, 0.1], [0.5, 0.3, 0.2], 0.0)
current = frame(1.0, [0.6, 0.3, 0.1], [0.2, 0.3, 0.5], 0.02)
reference.to_parquet("ref.parquet", index=False, compression="snappy")
current.to_parquet("cur.parquet", index=False, compression="snappy")
current.to_csv("cur.csv", index=False)
