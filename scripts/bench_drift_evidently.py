"""Same-run comparison of `vigil ml drift` with Evidently's DataDriftPreset and with scipy.

Driven by scripts/bench-drift-evidently.sh; each step is a subcommand so that every measured
program runs in a process of its own (peak RSS is then that program's):

    generate DIR                 ref.parquet / cur.parquet, the dataset of crates/ml/benches/drift.rs
    evidently DIR OUT.json       Evidently 0.7's Report([DataDriftPreset()]) on them, timed
    scipy DIR OUT.json           scipy alone: KS + chi-square, and normed Wasserstein + Jensen-Shannon
    measure OUT.json -- CMD...   runs CMD, records its wall time, CPU time and peak RSS (wait4)
    report DIR                   reads the results, prints the table and the verdict agreement

The dataset: 100,000 reference and 100,000 current rows, 20 numerical columns (normal, scale
1 + i/10, every fourth shifted by 0.3, every fifth with 2% nulls, rounded to 6 decimals) and 5
categorical ones (10-50 labels, Zipf-like weights 1/(k+1)^s; s = 1.3 in the current window of
every other column). It is drawn with the bench's own generator (splitmix64, Box-Muller, seed
20240601) in the bench's order, so it is the data `cargo bench -p vigil-ml --bench drift` runs
on, up to the last rounding place of a rare value where numpy's log/cos and Rust's differ.
"""

import json
import os
import resource
import subprocess
import sys
import time

ROWS = 100_000
SEED = 20_240_601
GAMMA = 0x9E3779B97F4A7C15
M1 = 0xBF58476D1CE4E5B9
M2 = 0x94D049BB133111EB


def peak_rss_mb(who=resource.RUSAGE_SELF):
    # ru_maxrss is in KiB on Linux.
    return resource.getrusage(who).ru_maxrss / 1024


def current_rss_mb():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


# ---------------------------------------------------------------- generate


class SplitMix:
    """The bench's generator (vigil_testkit::rng::SplitMix64): draw k (1-based) is
    mix(seed + k*GAMMA), so draws vectorise."""

    def __init__(self, seed):
        self.seed = seed
        self.drawn = 0

    def uniforms(self, n):
        import numpy as np

        with np.errstate(over="ignore"):
            k = np.arange(self.drawn + 1, self.drawn + n + 1, dtype=np.uint64)
            z = np.uint64(self.seed) + k * np.uint64(GAMMA)
            z = (z ^ (z >> np.uint64(30))) * np.uint64(M1)
            z = (z ^ (z >> np.uint64(27))) * np.uint64(M2)
            z = z ^ (z >> np.uint64(31))
        self.drawn += n
        return ((z >> np.uint64(11)).astype(np.float64) + 0.5) / float(1 << 53)


def round6(x):
    """Rust's (x * 1e6).round() / 1e6: halves away from zero."""
    import numpy as np

    y = x * 1e6
    a = np.abs(y)
    r = np.floor(a)
    r = r + (a - r >= 0.5)
    return np.copysign(r, y) / 1e6


def numerical(rng, shift, scale, null_share):
    import numpy as np

    # Per row: one uniform for the null check, two more (Box-Muller) when not null.
    if null_share == 0.0:
        u = rng.uniforms(3 * ROWS).reshape(ROWS, 3)
        first, second = u[:, 1], u[:, 2]
        nulls = np.zeros(ROWS, dtype=bool)
    else:
        start = rng.drawn
        u = rng.uniforms(3 * ROWS)
        first = np.empty(ROWS)
        second = np.empty(ROWS)
        nulls = np.zeros(ROWS, dtype=bool)
        p = 0
        for i in range(ROWS):
            if u[p] < null_share:
                nulls[i] = True
                first[i] = second[i] = 0.5
                p += 1
            else:
                first[i], second[i] = u[p + 1], u[p + 2]
                p += 3
        rng.drawn = start + p
    values = round6(shift + scale * (np.sqrt(-2.0 * np.log(first)) * np.cos(2 * np.pi * second)))
    values[nulls] = np.nan
    return values


def categorical(rng, labels, skew):
    import numpy as np

    weights = np.array([1.0 / float(i + 1) ** skew for i in range(len(labels))])
    total = sum(weights)
    cumulative = []
    acc = 0.0
    for w in weights:
        acc += w / total
        cumulative.append(acc)
    index = np.searchsorted(np.array(cumulative), rng.uniforms(ROWS), side="left")
    index = np.minimum(index, len(labels) - 1)
    return np.array(labels, dtype=object)[index]


def generate(out_dir):
    import pyarrow as pa
    import pyarrow.parquet as pq

    rng = SplitMix(SEED)
    reference, current = {}, {}
    for i in range(20):
        name = f"num_{i}"
        nulls = 0.02 if i % 5 == 0 else 0.0
        shift = 0.3 if i % 4 == 0 else 0.0
        scale = 1.0 + i / 10.0
        reference[name] = numerical(rng, 0.0, scale, nulls)
        current[name] = numerical(rng, shift, scale, nulls)
    for i in range(5):
        name = f"cat_{i}"
        labels = [f"label_{k:03}" for k in range(10 + 10 * i)]
        reference[name] = categorical(rng, labels, 1.0)
        current[name] = categorical(rng, labels, 1.3 if i % 2 == 0 else 1.0)
    for which, data in (("ref", reference), ("cur", current)):
        table = pa.table(
            {
                n: pa.array(v, type=pa.string() if n.startswith("cat") else pa.float64(), from_pandas=True)
                for n, v in data.items()
            }
        )
        pq.write_table(table, os.path.join(out_dir, f"{which}.parquet"), compression="snappy")


# ---------------------------------------------------------------- evidently


def load(data_dir):
    import pandas as pd

    ref = pd.read_parquet(os.path.join(data_dir, "ref.parquet"))
    cur = pd.read_parquet(os.path.join(data_dir, "cur.parquet"))
    numerical = [c for c in ref.columns if c.startswith("num_")]
    categorical = [c for c in ref.columns if c.startswith("cat_")]
    return ref, cur, numerical, categorical


def run_evidently(data_dir, out):
    import evidently
    from evidently import DataDefinition, Dataset, Report
    from evidently.presets import DataDriftPreset

    ref, cur, numerical, categorical = load(data_dir)
    definition = DataDefinition(numerical_columns=numerical, categorical_columns=categorical)
    rss_before = current_rss_mb()
    wall0, cpu0 = time.perf_counter(), time.process_time()
    reference = Dataset.from_pandas(ref, data_definition=definition)
    current = Dataset.from_pandas(cur, data_definition=definition)
    snapshot = Report([DataDriftPreset()]).run(current, reference)
    result = snapshot.dict()
    wall, cpu = time.perf_counter() - wall0, time.process_time() - cpu0
    columns, drifted = {}, None
    for metric in result["metrics"]:
        config = metric.get("config", {})
        kind = config.get("type", "")
        if kind.endswith("ValueDrift"):
            test = STATTESTS[config["method"]]
            score, threshold = float(metric["value"]), float(config["threshold"])
            columns[config["column"]] = {
                "stattest": test,
                "threshold": threshold,
                "score": score,
                "drift": bool(drifts(test, score, threshold)),
            }
        elif kind.endswith("DriftedColumnsCount"):
            drifted = float(metric["value"]["count"])
    # The report gives per-column scores and the count of drifted columns; the per-column
    # decisions recomputed with Evidently's rules must add up to that count.
    if drifted is None or sum(c["drift"] for c in columns.values()) != drifted:
        sys.exit(f"per-column decisions do not add up to Evidently's count {drifted}")
    json.dump(
        {
            "version": evidently.__version__,
            "wall_s": wall,
            "cpu_s": cpu,
            "peak_rss_mb": peak_rss_mb(),
            "rss_before_mb": rss_before,
            "n_drifted": drifted,
            "columns": columns,
        },
        open(out, "w"),
    )


# Evidently's stat-test display names (`stattest_display_name`) → their names.
STATTESTS = {
    "K-S p_value": "ks",
    "chi-square p_value": "chisquare",
    "Z-test p_value": "z",
    "Wasserstein distance (normed)": "wasserstein",
    "PSI": "psi",
    "Jensen-Shannon distance": "jensenshannon",
    "Kullback-Leibler divergence": "kl_div",
    "Hellinger distance": "hellinger",
    "Anderson-Darling": "anderson",
}


def drifts(test, score, threshold):
    """Evidently's decision: KS when p <= threshold, the other p-value tests when p < threshold,
    distances when score >= threshold."""
    if test == "ks":
        return score <= threshold
    if test in ("chisquare", "z", "anderson"):
        return score < threshold
    return score >= threshold


# ---------------------------------------------------------------- scipy


def run_scipy(data_dir, out):
    import numpy as np
    from scipy import stats
    from scipy.spatial import distance

    ref, cur, numerical, categorical = load(data_dir)
    columns = {n: (ref[n].dropna().to_numpy(), cur[n].dropna().to_numpy()) for n in numerical}
    cats = {n: (ref[n].dropna(), cur[n].dropna()) for n in categorical}
    results = {}

    def counts(r, c):
        keys = sorted(set(r.unique()) | set(c.unique()))
        rc = r.value_counts().reindex(keys, fill_value=0).to_numpy(dtype=float)
        cc = c.value_counts().reindex(keys, fill_value=0).to_numpy(dtype=float)
        return rc, cc

    # What the "scipy alone" measured: KS on the numbers, chi-square on the categories.
    wall0, cpu0 = time.perf_counter(), time.process_time()
    for n, (r, c) in columns.items():
        stats.ks_2samp(r, c)
    for n, (r, c) in cats.items():
        rc, cc = counts(r, c)
        stats.chisquare(cc, rc * cc.sum() / rc.sum())
    results["ks_chisquare"] = {"wall_s": time.perf_counter() - wall0, "cpu_s": time.process_time() - cpu0}

    # Evidently's choice for this size: normed Wasserstein and Jensen-Shannon on pooled bins.
    wall0, cpu0 = time.perf_counter(), time.process_time()
    for n, (r, c) in columns.items():
        stats.wasserstein_distance(r, c) / max(np.std(r), 0.001)
    for n, (r, c) in cats.items():
        rc, cc = counts(r, c)
        distance.jensenshannon(rc / rc.sum(), cc / cc.sum())
    results["wasserstein_js"] = {"wall_s": time.perf_counter() - wall0, "cpu_s": time.process_time() - cpu0}
    results["peak_rss_mb"] = peak_rss_mb()
    json.dump(results, open(out, "w"))


# ---------------------------------------------------------------- measure a command


def measure(out, cmd):
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE)
    stdout, _ = proc.communicate()
    # communicate() has reaped the child; its rusage is in RUSAGE_CHILDREN, and this process has
    # no other child, so the peak RSS is the command's own.
    wall = time.perf_counter() - start
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode != 0:
        sys.exit(f"{cmd[0]} exited with {proc.returncode}")
    json.dump(
        {
            "wall_s": wall,
            "cpu_s": usage.ru_utime + usage.ru_stime,
            "peak_rss_mb": usage.ru_maxrss / 1024,
            "output": json.loads(stdout),
        },
        open(out, "w"),
    )


# ---------------------------------------------------------------- report


def median(xs):
    xs = sorted(xs)
    n = len(xs)
    return xs[n // 2] if n % 2 else (xs[n // 2 - 1] + xs[n // 2]) / 2


def report(data_dir):
    import glob
    import re

    def runs(prefix):
        pattern = re.compile(re.escape(prefix) + r"(-\d+)+\.json")
        paths = glob.glob(os.path.join(data_dir, f"{prefix}-*.json"))
        paths = sorted(p for p in paths if pattern.fullmatch(os.path.basename(p)))
        return [json.load(open(p)) for p in paths]

    vigil, evid, sp = runs("vigil"), runs("evidently"), runs("scipy")
    v = {k: median([r[k] for r in vigil]) for k in ("wall_s", "cpu_s", "peak_rss_mb")}
    vr = {k: median([r[k] for r in runs("vigil-read")]) for k in ("wall_s", "cpu_s", "peak_rss_mb")}
    v_range = {k: (min(r[k] for r in vigil), max(r[k] for r in vigil)) for k in ("wall_s", "cpu_s")}
    e = {k: median([r[k] for r in evid]) for k in ("wall_s", "cpu_s", "peak_rss_mb")}
    e_add = median([r["peak_rss_mb"] - r["rss_before_mb"] for r in evid])
    s1 = {k: median([r["ks_chisquare"][k] for r in sp]) for k in ("wall_s", "cpu_s")}
    s2 = {k: median([r["wasserstein_js"][k] for r in sp]) for k in ("wall_s", "cpu_s")}
    print(f"medians of {len(vigil)} Vigil runs and {len(evid)} Evidently and scipy runs; Evidently {evid[0]['version']}")
    print()
    print(f"| {'':46} | {'CPU s':>8} | {'wall s':>8} | {'peak RSS MB':>11} |")
    print(f"|{'-' * 48}|{'-' * 10}|{'-' * 10}|{'-' * 13}|")
    rows = [
        ("Evidently DataDriftPreset (compute only)", e["cpu_s"], e["wall_s"], f"{e['peak_rss_mb']:.0f} (+{e_add:.0f})"),
        ("scipy KS + chi-square (compute only)", s1["cpu_s"], s1["wall_s"], ""),
        ("scipy Wasserstein + JS (compute only)", s2["cpu_s"], s2["wall_s"], ""),
        ("vigil ml drift --json (whole process)", v["cpu_s"], v["wall_s"], f"{v['peak_rss_mb']:.0f}"),
        ("  the same, --columns cat_1 (~reading only)", vr["cpu_s"], vr["wall_s"], f"{vr['peak_rss_mb']:.0f}"),
    ]
    for name, cpu, wall, rss in rows:
        print(f"| {name:46} | {cpu:8.3f} | {wall:8.3f} | {rss:>11} |")
    print(
        f"vigil ml drift range over {len(vigil)} runs: CPU {v_range['cpu_s'][0]:.3f}-{v_range['cpu_s'][1]:.3f} s, "
        f"wall {v_range['wall_s'][0]:.3f}-{v_range['wall_s'][1]:.3f} s"
    )
    print()
    print(f"Vigil / Evidently: CPU {v['cpu_s'] / e['cpu_s']:.4f}x, wall {v['wall_s'] / e['wall_s']:.4f}x, "
          f"peak RSS {v['peak_rss_mb'] / e['peak_rss_mb']:.3f}x")
    print(f"Vigil / scipy KS + chi-square: CPU {v['cpu_s'] / s1['cpu_s']:.3f}x, wall {v['wall_s'] / s1['wall_s']:.3f}x")
    print(f"Vigil / scipy Wasserstein + JS: CPU {v['cpu_s'] / s2['cpu_s']:.3f}x, wall {v['wall_s'] / s2['wall_s']:.3f}x")

    # Verdicts: the last runs of each (the data is the same every run).
    features = {f["name"]: f for f in vigil[-1]["output"]["features"]}
    columns = evid[-1]["columns"]
    agree, disagree = 0, []
    for name, ev in sorted(columns.items()):
        vf = features.get(name)
        if vf is None:
            disagree.append(f"{name}: missing from Vigil's report")
            continue
        same = vf["drift_detected"] == ev["drift"] and vf["method"] == ev["stattest"]
        if same:
            agree += 1
        else:
            disagree.append(
                f"{name}: Vigil {vf['method']} {vf['score']!r} drift={vf['drift_detected']}, "
                f"Evidently {ev['stattest']} {ev['score']!r} drift={ev['drift']}"
            )
    worst = max(
        (abs(features[n]["score"] - ev["score"]) / max(abs(ev["score"]), 1e-12), n)
        for n, ev in columns.items()
        if n in features and features[n]["score"] is not None
    )
    print()
    print(f"per-column verdicts (method and drift_detected): {agree} of {len(columns)} agree with Evidently")
    for line in disagree:
        print("  disagreement:", line)
    print(f"largest relative score difference: {worst[0]:.2e} ({worst[1]})")
    dataset = vigil[-1]["output"]["dataset"]
    print(
        f"drifted columns: Vigil {dataset['n_drifted']} of {dataset['n_features']}, "
        f"Evidently {evid[-1]['n_drifted']:.0f} of {len(columns)}"
    )


def main():
    cmd = sys.argv[1] if len(sys.argv) > 1 else ""
    if cmd == "generate":
        generate(sys.argv[2])
    elif cmd == "evidently":
        run_evidently(sys.argv[2], sys.argv[3])
    elif cmd == "scipy":
        run_scipy(sys.argv[2], sys.argv[3])
    elif cmd == "measure" and len(sys.argv) > 4 and sys.argv[3] == "--":
        measure(sys.argv[2], sys.argv[4:])
    elif cmd == "report":
        report(sys.argv[2])
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
