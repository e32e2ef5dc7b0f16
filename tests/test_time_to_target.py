"""The time-to-target race (issue 21): the online detector and the seed runs on synthetic traces
(noisy, never reaching, reaching at the last step), the seconds it counts, the rotation of the
engines, and the table's medians, bounds and ratios. No JAX, no NetKet: engines are fakes that
replay a trace on a fake clock."""

from __future__ import annotations

import math

import pytest

from suite.perf.time_to_target import race_seeds, run_seed
from suite.report.target_races import (
    ratio,
    ratio_text,
    seed_outcome,
    summarise,
    target_race_record,
    target_race_table,
)
from suite.report.targets import TargetWatch

REFERENCE = -0.5


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


class TraceEngine:
    """Replays ``energies`` (one per step, 1 s each) and answers evaluations from
    ``evaluations`` in order (0.5 s each); the final evaluation returns the last energy."""

    engine = "fake"

    def __init__(self, energies, evaluations=(), clock=None, setting="ours", name="fake"):
        self.energies, self.evaluations = list(energies), list(evaluations)
        self.clock, self.setting, self.engine = clock or FakeClock(), setting, name
        self.started: list[int] = []
        self.evaluated_at: list[int] = []
        self._step = -1

    def start(self, seed: int) -> None:
        self.started.append(seed)
        self.clock.now += 1000.0  # set-up and compilation: off the race clock
        self._step = -1
        self._answers = iter(self.evaluations)

    def run(self, steps, after_step) -> None:
        for step in range(min(steps, len(self.energies))):
            self.clock.now += 1.0
            self._step = step
            if not after_step(step, self.energies[step]):
                return

    def evaluate(self) -> float:
        self.clock.now += 0.5
        self.evaluated_at.append(self._step)
        return next(self._answers)

    def final(self):
        return self.energies[self._step], 0.001, None


def _run(energies, evaluations=(), targets=(1e-2,), budget=None, **options):
    clock = FakeClock()
    engine = TraceEngine(energies, evaluations, clock)
    run = run_seed(engine, 7, REFERENCE, targets, budget or len(energies), clock=clock, **options)
    return run, engine


def test_the_watch_needs_the_running_mean_within_the_target():
    watch = TargetWatch(REFERENCE, 1e-2, window=3)
    # one lucky step among poor ones is no candidate: means -0.3, -0.4, -0.367
    assert [watch.observe(e) for e in (-0.3, -0.5, -0.3)] == [False, False, False]
    # three good steps in a row are: means -0.433, -0.5 (the window's last three)
    assert [watch.observe(e) for e in (-0.5, -0.5, -0.5)] == [False, False, True]
    assert watch.reached(-0.496) and not watch.reached(-0.494) and not watch.reached(math.nan)


def test_a_rejected_candidate_waits_the_window_out():
    watch = TargetWatch(REFERENCE, 1e-2, window=2)
    assert watch.observe(-0.5) is True
    watch.reject()
    assert [watch.observe(-0.5) for _ in range(3)] == [False, False, True]


def test_bad_watch_arguments_are_refused():
    with pytest.raises(ValueError, match="reference"):
        TargetWatch(0.0, 1e-2)
    with pytest.raises(ValueError, match="target"):
        TargetWatch(REFERENCE, 0.0)


def test_a_trace_that_never_reaches_the_target_counts_the_whole_budget():
    run, engine = _run([-0.3] * 20)
    assert run.targets == {"1e-02": {"step": None, "seconds": None, "energy": None}}
    assert (run.steps, run.seconds, run.evaluations) == (20, 20.0, 0)
    assert engine.evaluated_at == [] and run.seconds_per_step == 1.0


def test_reaching_the_target_at_the_last_step():
    energies = [-0.3] * 19 + [-0.5]
    run, engine = _run(energies, evaluations=[-0.499], window=1)
    assert run.targets["1e-02"] == {"step": 19, "seconds": 20.5, "energy": -0.499}
    assert engine.evaluated_at == [19] and run.steps == 20


def test_a_noisy_trace_is_confirmed_by_evaluation_and_the_evaluations_are_on_the_clock():
    # the running mean (window 2) enters the target at step 3; the first evaluation says no,
    # the watch waits two steps, the next candidate (step 5) is confirmed
    energies = [-0.3, -0.4, -0.5, -0.5, -0.5, -0.5, -0.5, -0.5]
    run, engine = _run(energies, evaluations=[-0.45, -0.4999], window=2)
    assert engine.evaluated_at == [3, 6]
    assert run.targets["1e-02"] == {"step": 6, "seconds": 7 + 2 * 0.5, "energy": -0.4999}
    assert run.evaluations == 2 and run.seconds == 8 + 2 * 0.5
    assert run.seconds_per_step == 1.0  # step durations leave the evaluations out


def test_one_evaluation_confirms_every_target_that_is_a_candidate():
    energies = [-0.3, -0.5, -0.5, -0.5]
    run, engine = _run(energies, evaluations=[-0.49, -0.4999], targets=(1e-1, 1e-2, 1e-3),
                       window=1)
    # step 1: all three are candidates; -0.49 (2e-2) confirms 1e-1 only, the other two wait a
    # step; at step 3 one evaluation, -0.4999 (2e-4), confirms both
    assert engine.evaluated_at == [1, 3] and run.evaluations == 2
    assert {key: hit["step"] for key, hit in run.targets.items()} == {
        "1e-01": 1, "1e-02": 3, "1e-03": 3}
    assert run.targets["1e-03"]["seconds"] == 4 + 2 * 0.5


def test_stop_at_target_ends_the_run_and_a_divergence_ends_it_too():
    run, _ = _run([-0.5] * 10, evaluations=[-0.5], window=1, stop_at_target=True)
    assert run.steps == 1 and run.targets["1e-02"]["step"] == 0
    run, _ = _run([-0.3, math.nan, -0.5, -0.5], window=1)
    assert run.diverged and run.steps == 2 and run.targets["1e-02"]["step"] is None


def test_the_engines_take_turns_going_first():
    clock = FakeClock()
    order: list[str] = []

    class Recording(TraceEngine):
        def start(self, seed):
            order.append(self.setting)
            super().start(seed)

    engines = [Recording([-0.3] * 3, clock=clock, setting=name) for name in "abc"]
    runs = race_seeds(engines, [0, 1, 2, 3], REFERENCE, [1e-2], 3)
    assert order == list("abc" "bca" "cab" "abc")
    assert [r.seed for r in runs[("fake", "b")]] == [0, 1, 2, 3]


def _record(ours_seconds, netket_seconds, reached_ours, reached_netket):
    def runs(seconds, reached):
        return [{"seed": i, "targets": {"1e-02": {"step": 9 if hit else None,
                                                  "seconds": s if hit else None,
                                                  "energy": -0.5 if hit else None}},
                 "steps": 50, "seconds": 40.0 if not hit else 60.0, "seconds_per_step": 0.5,
                 "evaluations": 1, "final_energy": -0.499, "final_error": 1e-4,
                 "exact_energy": -0.4995, "diverged": False}
                for i, (s, hit) in enumerate(zip(seconds, reached, strict=True))]

    engines = [{"engine": "nqsbench", "version": "x", "setting": "ours", "settings": {},
                "runs": runs(ours_seconds, reached_ours)},
               {"engine": "netket", "version": "3.23", "setting": "tutorial", "settings": {},
                "runs": runs(netket_seconds, reached_netket)}]
    return target_race_record(cell_id="c", label="factored L=4", config={}, reference={
        "id": "ed", "energy_per_site": REFERENCE, "kind": "exact"}, targets=[1e-2], budget=50,
        window=10, stop_at_target=False, seeds=[0, 1, 2, 3], n_parameters=968, engines=engines,
        environment={"device": "cpu"}, git={}, finished_at="2026-12-03T00:00:00+0000")


def test_the_summary_counts_a_seed_that_never_got_there_as_its_whole_run():
    record = _record([1.0, 2.0, 3.0, 4.0], [4.0, 6.0, 8.0, 10.0],
                     [True] * 4, [True, True, False, False])
    ours, netket = summarise(record)
    assert (ours.reached, ours.median_seconds, ours.median_steps) == (4, 2.5, 10)
    # NetKet: 4, 6 reached; two seeds count their whole run (40 s, 50 steps)
    assert (netket.reached, netket.median_seconds, netket.median_steps) == (2, 23.0, 30)
    assert not netket.censored
    table = target_race_table([record])
    assert "| 2/4 |" in table and "| 0.11 |" in table  # ratio 2.5 / 23 on NetKet's row
    assert "ed (exact)" in table and "968 params" in table


def test_a_median_from_mostly_unreached_seeds_is_marked_as_a_bound():
    record = _record([1.0] * 4, [1.0] * 4, [True] * 4, [True, False, False, False])
    netket = summarise(record)[1]
    assert netket.censored
    assert "| >40 (" in target_race_table([record])


def test_a_diverged_seed_s_nan_energy_is_recorded_as_null():
    """The first full race lost its record to json's allow_nan=False: NetKet's SPRING seeds that
    diverged end with E/N = NaN. Such values are written as null and read back as unknown."""
    record = _record([1.0] * 4, [1.0] * 4, [True] * 4, [True] * 4)
    engines = record.engines
    engines[1]["runs"][0]["final_energy"] = float("nan")
    engines[1]["runs"][1]["final_error"] = float("inf")
    again = target_race_record(cell_id="c", label="x", config={}, reference=record.reference,
                               targets=[1e-2], budget=50, window=10, stop_at_target=False,
                               seeds=[0, 1, 2, 3], n_parameters=968, engines=engines,
                               environment={}, git={}, finished_at="2026-12-03T00:00:00+0000")
    runs = again.engines[1]["runs"]
    assert runs[0]["final_energy"] is None and runs[1]["final_error"] is None
    assert runs[2]["final_energy"] == -0.499
    assert summarise(again)[1].median_seconds == 1.0
    assert "| netket |" in target_race_table([again])


def test_a_seed_that_diverged_counts_as_the_budget_not_as_its_short_run():
    """NetKet's SPRING diverged to NaN after 38-61 of 250 steps in the 4x4 race: counted with
    their short runs (12-20 s), those seeds made a setting that reached the target once in 8 look
    faster than one that reached it every time. They count as the budget at their pace."""
    record = _record([1.0, 2.0, 3.0, 4.0], [4.0, 6.0, 8.0, 10.0],
                     [True] * 4, [True, True, False, False])
    diverged = record.engines[1]["runs"][3]
    diverged.update(steps=10, seconds=5.0, seconds_per_step=0.5, diverged=True)
    assert seed_outcome(diverged, "1e-02", 50) == (25.0, 50, False)  # 0.5 s/step x 50 steps
    assert seed_outcome(record.engines[1]["runs"][2], "1e-02", 50) == (40.0, 50, False)
    assert seed_outcome(record.engines[1]["runs"][0], "1e-02", 50) == (4.0, 10, True)
    netket = summarise(record)[1]
    assert (netket.median_seconds, netket.median_steps) == ((6.0 + 25.0) / 2, 30)
    # never less than the seconds it ran, even when its pace would say so
    diverged.update(seconds_per_step=0.01)
    assert seed_outcome(diverged, "1e-02", 50) == (5.0, 50, False)
    diverged.update(seconds_per_step=None)
    assert seed_outcome(diverged, "1e-02", 50) == (25.0, 50, False)  # 5 s / 10 steps x 50


def test_a_ratio_against_a_bound_is_marked_as_a_bound():
    both_reach = _record([2.0] * 4, [4.0] * 4, [True] * 4, [True] * 4)
    rows = summarise(both_reach)
    assert [ratio_text(row, rows) for row in rows] == ["0.50", "0.50"]
    # NetKet's median is a lower bound (1 of 4 reached: 40 s is its budget): ours / NetKet <= 0.05
    netket_bound = _record([2.0] * 4, [2.0] * 4, [True] * 4, [True, False, False, False])
    rows = summarise(netket_bound)
    assert [ratio_text(row, rows) for row in rows] == ["<0.05", "<0.05"]
    ours_bound = _record([2.0] * 4, [2.0] * 4, [True, False, False, False], [True] * 4)
    rows = summarise(ours_bound)
    assert [ratio_text(row, rows) for row in rows] == [">20.00", ">20.00"]
    neither = _record([2.0] * 4, [2.0] * 4, [True] + [False] * 3, [True] + [False] * 3)
    rows = summarise(neither)
    assert [ratio_text(row, rows) for row in rows] == ["n/a", "n/a"]
    assert "| n/a | -0.49900 |" in target_race_table([neither])


def test_netket_s_fastest_setting_is_one_whose_median_is_not_a_bound():
    record = _record([2.0] * 4, [45.0] * 4, [True] * 4, [True] * 4)  # NetKet tutorial: 45 s
    raw = record.to_json()
    stalled = _record([2.0] * 4, [2.0] * 4, [True] * 4, [True, False, False, False])
    raw["engines"].append({**stalled.engines[1], "setting": "spring"})  # median 40 s, a bound
    record = target_race_record(**{k: v for k, v in raw.items()
                                   if k not in ("schema_version", "kind")})
    rows = summarise(record)
    assert [(r.setting, r.median_seconds, r.censored) for r in rows] == [
        ("ours", 2.0, False), ("tutorial", 45.0, False), ("spring", 40.0, True)]
    assert ratio(rows[0], rows) == 2.0 / 45.0  # not 2 / 40: the bound is not "fastest"


def test_adaptive_sampling_s_discarded_sweeps_are_named_beside_its_setting():
    record = _record([1.0] * 4, [2.0] * 4, [True] * 4, [True] * 4)
    record.engines[0]["settings"] = {"decorrelation": 0.1}
    for run, sweeps in zip(record.engines[0]["runs"], [1.0, 1.5, 2.0, 3.0], strict=True):
        run["discarded_sweeps"] = sweeps
    for run in record.engines[1]["runs"]:
        run["discarded_sweeps"] = 5.0  # a fixed count is not worth naming
    ours, netket = summarise(record)
    assert ours.discarded_sweeps == 1.75 and ours.label == "ours (1.8 sweeps)"
    assert netket.discarded_sweeps is None and netket.label == "tutorial"
    assert "| nqsbench | ours (1.8 sweeps) |" in target_race_table([record])
