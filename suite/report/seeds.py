"""One row per cell from one row per seed: the newest record of each configuration, the seeds
that failed, and the statistics over seeds that tables show (mean, spread, medians).

A run's step time counts as measured alone unless the host's load exceeded its cores
(:func:`contended`); a row of several seeds takes its step time from the seeds measured alone.
Pure pandas: a runs DataFrame (:func:`suite.report.rows.load_runs`) in, a DataFrame out.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from suite.report.targets import TARGETS, target_key

CONTENDED = "*"
"""marks a step time measured while the host's load exceeded its cores"""


def seconds_contended(row: pd.Series) -> bool:
    """Whether a row's training seconds were measured with other work on the CPU: any of its
    seeds (a row of several) or its run was :func:`contended`."""
    several = row.get("seeds_contended")
    return contended(row) if several is None or pd.isna(several) else bool(several)


def contended(row: pd.Series) -> bool:
    """Whether other work shared the CPU during the run: the host's highest 1-minute load
    average during training above 1.25 x its cores (a run alone keeps it near the core count)."""
    load, cores = row.get("host_load_max"), row.get("cpu_count")
    if load is None or cores is None or pd.isna(load) or pd.isna(cores):
        return False
    return float(load) > 1.25 * float(cores)


CONFIGURATION = ["config_hash", "device"]
"""what makes two records runs of the same configuration (a re-run supersedes the older)"""


def _newest(records: pd.DataFrame) -> pd.DataFrame:
    """The newest of each configuration's records."""
    return records.sort_values("finished_at").drop_duplicates(subset=CONFIGURATION, keep="last")


def latest_completed(runs: pd.DataFrame) -> pd.DataFrame:
    """The newest completed record of each configuration (a re-run supersedes older records)."""
    done = runs[runs["status"] == "completed"]
    return done if done.empty else _newest(done)


def failed_only(runs: pd.DataFrame) -> pd.DataFrame:
    """The newest record of each configuration that failed and never completed on its device
    (a seed that diverged and was not re-run): what :func:`latest_completed` leaves out."""
    failed = runs[runs["status"] == "failed"]
    if failed.empty:
        return failed
    done = pd.MultiIndex.from_frame(runs.loc[runs["status"] == "completed", CONFIGURATION])
    return _newest(failed[~pd.MultiIndex.from_frame(failed[CONFIGURATION]).isin(done)])


def combine_seeds(runs: pd.DataFrame, failed: pd.DataFrame | None = None) -> pd.DataFrame:
    """One row per cell and device from one row per seed (``seed_family`` groups the seeds).

    A single seed keeps its row (``n_seeds`` 1). Several seeds give the first seed's row with
    ``energy`` the mean over the seeds, ``energy_error`` their standard deviation (the spread,
    not the error of the mean), ``relative_error`` and ``v_score`` of the mean energy,
    ``best_energy`` and ``best_relative_error`` of the lowest-energy seed, ``n_seeds``,
    ``seconds_per_step`` the median over the seeds measured alone (over all seeds where none
    was) and, per target, the median steps and seconds to it (``None``, as for a single seed:
    most seeds never got there) with ``reached_<target>`` seeds that did; ``seeds_contended``
    where any seed shared its CPU (its seconds to a target are inflated). ``failed``: the
    records of seeds that failed (:func:`failed_only`), counted per cell as ``n_failed`` and as
    never reaching a target; a cell whose every seed failed has no row.
    """
    if runs.empty:
        return runs.assign(n_seeds=pd.Series(dtype=int), n_failed=pd.Series(dtype=int),
                           best_energy=pd.Series(dtype=float),
                           best_relative_error=pd.Series(dtype=float))
    failures = ({} if failed is None or failed.empty else
                failed.groupby(["seed_family", "device"], dropna=False).size().to_dict())
    rows = []
    # a row without a seed family (built by hand) is a cell of its own
    family = runs["seed_family"].where(runs["seed_family"].notna(),
                                       "row-" + pd.Series(range(len(runs)), index=runs.index)
                                       .astype(str))
    runs = runs.assign(_family=family)
    for (name, device), group in runs.sort_values("seed").groupby(["_family", "device"],
                                                                  sort=False, dropna=False):
        row = group.iloc[0].copy()
        best = group.loc[group["energy"].idxmin()]
        row["n_seeds"] = len(group)
        row["n_failed"] = int(failures.get((name, device), 0))
        row["best_energy"] = best["energy"]
        row["best_relative_error"] = best["relative_error"]
        if len(group) > 1:
            energy = float(group["energy"].mean())
            row["energy"] = energy
            row["energy_error"] = float(group["energy"].std(ddof=1))
            reference = row["reference_energy"]
            row["relative_error"] = (None if reference is None or pd.isna(reference)
                                     else (energy - reference) / abs(reference))
            row["v_score"] = float(group["v_score"].mean())
            row["total_seconds"] = float(group["total_seconds"].sum())
            crowded = [contended(seed) for _, seed in group.iterrows()]
            alone = group[[not c for c in crowded]]
            timed = alone if not alone.empty else group
            row["seeds_contended"] = any(crowded)
            row["seconds_per_step"] = float(timed["seconds_per_step"].median())
            if "host_load_max" in timed:
                row["host_load_max"] = timed["host_load_max"].max()
        if len(group) + row["n_failed"] > 1:
            for key in map(target_key, TARGETS):
                for column in (f"steps_to_{key}", f"seconds_to_{key}"):
                    if column in group:
                        row[column] = _median_reaching(group[column], row["n_failed"])
                if f"steps_to_{key}" in group:
                    row[f"reached_{key}"] = int(group[f"steps_to_{key}"].notna().sum())
        rows.append(row.drop("_family"))
    return pd.DataFrame(rows)


def _median_reaching(values: pd.Series, never: int) -> float | None:
    """The median of the seeds' steps (or seconds) to a target, a seed that never got there
    (``None``) and each of ``never`` failed seeds counting as infinitely many; ``None`` when the
    median is infinite (most seeds never got there)."""
    reached = pd.to_numeric(values, errors="coerce").astype(float).fillna(math.inf)
    median = float(np.median(np.concatenate([reached.to_numpy(), np.full(never, math.inf)])))
    return median if math.isfinite(median) else None
