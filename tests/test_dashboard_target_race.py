"""The time-to-target races on the dashboard's Performance page: the figure of one race (a trace
per engine and setting, unreached seeds open at their whole run, the medians summarise's), its
table with the ratios, and the page with, without, and beside unreadable race records."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import plotly.graph_objects as go
import plotly.io
import pytest
from dash_tree import components as _components

from dashboard import components, create_app, target_race_figures
from dashboard.colours import ENGINE_COLOURS
from dashboard.pages import performance
from suite.report.target_races import ratio, summarise, target_race_record, write_target_race

REPO = Path(__file__).resolve().parents[1]
REFERENCE = -0.5
DEVICE = "AMD EPYC (2 cores)"
LABELS = ["nqsbench ours", "NetKet tutorial", "NetKet spring"]


def _runs(seconds, reached, run_seconds=40.0, steps=50):
    """One seed run per value: reached after ``seconds`` (step 9), or not in the whole run."""
    return [{"seed": i, "targets": {"1e-02": {"step": 9 if hit else None,
                                              "seconds": s if hit else None,
                                              "energy": -0.5 if hit else None}},
             "steps": steps, "seconds": run_seconds, "seconds_per_step": 0.5, "evaluations": 1,
             "final_energy": -0.499, "final_error": 1e-4, "exact_energy": -0.4995,
             "diverged": False}
            for i, (s, hit) in enumerate(zip(seconds, reached, strict=True))]


def _record(cell_id="c", device=DEVICE, finished_at="2026-12-03T00:00:00+0000", spread=1.0,
            settings=("ours", "tutorial", "spring")):
    """A race of nqsbench's first setting and NetKet's others (default: ours; tutorial, spring)."""
    ours, *theirs = settings
    runs = [_runs([4.0, 6.0, 8.0, 10.0], [True, True, False, False], run_seconds=25.0),
            _runs([5.0, 7.0, 9.0, 11.0], [True, False, False, False], run_seconds=30.0)]
    engines = [
        {"engine": "nqsbench", "version": "x", "setting": ours, "settings": {},
         "runs": _runs([3.0 * spread, 4.0, 5.0, 6.0], [True] * 4)},
        *({"engine": "netket", "version": "3.23", "setting": setting, "settings": {},
           "runs": seed_runs} for setting, seed_runs in zip(theirs, runs, strict=False)),
    ]
    return target_race_record(
        cell_id=cell_id, label=f"factored L=4 {cell_id}", config={},
        reference={"id": "ed", "energy_per_site": REFERENCE, "kind": "exact"}, targets=[1e-2],
        budget=50, window=10, stop_at_target=False, seeds=[0, 1, 2, 3], n_parameters=968,
        engines=engines, environment={"device": device}, git={}, finished_at=finished_at)


def _seed_traces(figure: go.Figure) -> list[go.Scatter]:
    return [t for t in figure.data if t.name != target_race_figures.MEDIAN_NAME]


def _median(figure: go.Figure) -> go.Scatter:
    return next(t for t in figure.data if t.name == target_race_figures.MEDIAN_NAME)


# --- the figure and the table ---------------------------------------------------------------

def test_the_figure_has_a_trace_per_engine_and_setting_in_the_engines_colours():
    figure = target_race_figures.target_race_figure(_record())
    seeds = _seed_traces(figure)
    assert [t.name for t in seeds] == LABELS and len(figure.data) == 4
    assert [len(t.y) for t in seeds] == [4, 4, 4]
    assert [t.marker.color for t in seeds] == [ENGINE_COLOURS["nqsbench"], ENGINE_COLOURS["netket"],
                                               ENGINE_COLOURS["netket"]]
    assert ENGINE_COLOURS["nqsbench"] != ENGINE_COLOURS["netket"]
    assert list(figure.layout.xaxis.ticktext) == LABELS
    assert list(figure.layout.xaxis.tickvals) == [0, 1, 2]
    # each trace's seeds sit in its own column
    for x, trace in enumerate(seeds):
        assert all(abs(value - x) < 0.5 for value in trace.x)
    title = figure.layout.title.text
    assert "factored L=4 c" in title and "ed (exact)" in title and DEVICE in title
    assert figure.layout.xaxis.title.text and figure.layout.yaxis.title.text
    assert figure.layout.height == target_race_figures.TARGET_RACE_HEIGHT


def test_unreached_seeds_are_open_at_their_whole_run():
    figure = target_race_figures.target_race_figure(_record())
    ours, tutorial, spring = _seed_traces(figure)
    assert list(ours.marker.symbol) == ["circle"] * 4 and list(ours.y) == [3.0, 4.0, 5.0, 6.0]
    assert list(tutorial.marker.symbol) == ["circle", "circle", "circle-open", "circle-open"]
    assert list(tutorial.y) == [4.0, 6.0, 25.0, 25.0]  # the run's seconds, not the target's
    assert list(spring.y) == [5.0, 30.0, 30.0, 30.0]
    assert "not reached in 50 steps (counts as the budget)" in tutorial.hovertext[2]
    assert "reached after 4 s, 10 steps" in tutorial.hovertext[0]
    assert "not reached" not in "".join(ours.hovertext)


def test_a_seed_that_diverged_is_open_at_the_budget_at_its_pace():
    record = _record()
    record.engines[2]["runs"][3].update(steps=10, seconds=5.0, diverged=True)  # 0.5 s/step
    spring = _seed_traces(target_race_figures.target_race_figure(record))[2]
    assert list(spring.y) == [5.0, 30.0, 30.0, 25.0]  # 0.5 s/step x the 50-step budget, not 5 s
    assert spring.marker.symbol[3] == "circle-open"
    assert "not reached in 10 steps (counts as the budget): 25 s · diverged" in spring.hovertext[3]


def test_the_median_marks_are_summarises_medians():
    record = _record()
    figure = target_race_figures.target_race_figure(record)
    median = _median(figure)
    expected = [row.median_seconds for row in summarise(record)]
    assert expected == [4.5, 15.5, 30.0]
    assert [median.y[i] for i in (0, 3, 6)] == [median.y[i] for i in (1, 4, 7)] == expected
    assert [median.y[i] for i in (2, 5, 8)] == [None] * 3  # one mark per column, not a line
    centres = [(median.x[i] + median.x[i + 1]) / 2 for i in (0, 3, 6)]
    assert centres == pytest.approx([0, 1, 2])
    assert ">30 s" in median.hovertext[6] and "1/4 seeds" in median.hovertext[6]  # a bound


def test_the_y_axis_is_logarithmic_only_over_a_tenfold_spread():
    assert target_race_figures.target_race_figure(_record()).layout.yaxis.type == "linear"
    wide = target_race_figures.target_race_figure(_record(spread=0.01))  # 0.03 s to 30 s
    assert wide.layout.yaxis.type == "log" and "log" in wide.layout.yaxis.title.text


def test_every_target_gets_its_own_panel():
    raw = _record().to_json()
    raw["targets"] = [1e-1, 1e-2]
    for engine in raw["engines"]:
        for run in engine["runs"]:
            run["targets"]["1e-01"] = {"step": 0, "seconds": 0.5, "energy": -0.45}
    record = target_race_record(**{k: v for k, v in raw.items()
                                   if k not in ("schema_version", "kind")})
    figure = target_race_figures.target_race_figure(record)
    assert [t.name for t in _seed_traces(figure)] == LABELS * 2
    assert [t.meta["target"] for t in figure.data] == [0.1] * 4 + [0.01] * 4
    assert [a.text for a in figure.layout.annotations] == ["relative error 1e-01",
                                                           "relative error 1e-02"]
    medians = [t for t in figure.data if t.name == target_race_figures.MEDIAN_NAME]
    assert [m.y[0] for m in medians] == [0.5, 4.5]


def test_the_table_rows_carry_summarise_and_the_ratio():
    record = _record()
    rows = target_race_figures.summary_rows(record)
    summaries = summarise(record)
    assert [(r["engine"], r["setting"]) for r in rows] == [("nqsbench", "ours"),
                                                           ("NetKet", "tutorial"),
                                                           ("NetKet", "spring")]
    assert [r["median_seconds"] for r in rows] == [s.median_seconds for s in summaries]
    assert [r["ratio"] for r in rows] == pytest.approx([ratio(s, summaries) for s in summaries])
    assert rows[1]["ratio"] == pytest.approx(4.5 / 15.5)
    assert rows[0]["ratio"] == pytest.approx(4.5 / 15.5)  # against NetKet's fastest setting
    assert [r["reached"] for r in rows] == ["4/4", "2/4", "1/4"]
    assert [r["censored"] for r in rows] == [False, False, True]
    # spring's median is a bound (1/4 reached), so nqsbench / spring is one too: at most 4.5/30
    assert [r["ratio_bound"] for r in rows] == ["", "", "<"]
    json.dumps(rows, allow_nan=False)


# --- the page ---------------------------------------------------------------------------------

@pytest.fixture
def results(tmp_path: Path):
    """A results directory with one step-time race (so the page has a device) and an app."""
    directory = tmp_path / "results"
    (directory / "compare").mkdir(parents=True)
    shutil.copy(REPO / "tests" / "data" / "race.json", directory / "compare" / "race.json")
    with create_app(directory).server.app_context():
        yield directory


def _typed(page, kind: str) -> list:
    return [c for c in _components(page)
            if isinstance(getattr(c, "id", None), dict) and c.id.get("type") == kind]


def _render(page) -> str:
    return plotly.io.json.to_json_plotly(page)  # as Dash sends it: fails on what JSON cannot hold


def test_the_page_without_a_target_race_says_how_to_run_one(results):
    page = performance.layout()
    text = _render(page)
    assert "Time to target against NetKet" in text and performance.NO_TARGET_RACE in text
    assert performance.TARGET_COMMAND in text
    assert performance.TARGET_COMMAND == ("nqsbench compare netket --matrix race-target "
                                          "--metric time-to-target")
    assert not _typed(page, performance.TARGET_GRAPH)
    assert not components.current_data().problems


def test_the_page_shows_the_newest_race_of_each_cell_device_and_settings(results):
    write_target_race(results, _record(finished_at="2026-12-01T00:00:00+0000", spread=0.01))
    newest = _record(finished_at="2026-12-03T00:00:00+0000")
    write_target_race(results, newest)
    spring = _record(finished_at="2026-12-04T00:00:00+0000", settings=("spring", "spring"))
    write_target_race(results, spring)  # other settings on cell c: beside the race, not over it
    write_target_race(results, _record(cell_id="d"))
    write_target_race(results, _record(device="NVIDIA H200"))
    data = components.current_data()
    assert len(data.target_races) == 5 and not data.problems
    assert len(data.comparisons) == 1  # the step-time race is still read as one
    page = performance.layout()
    _render(page)
    graphs = _typed(page, performance.TARGET_GRAPH)
    assert len(graphs) == 4
    assert len({g.id["index"] for g in graphs}) == 4  # every race its own component ids
    titles = [g.figure.layout.title.text for g in graphs]
    assert all(DEVICE in title for title in titles[:3]) and "NVIDIA H200" in titles[3]
    assert "factored L=4 c " in titles[0] and "factored L=4 c " in titles[1]
    assert "factored L=4 d " in titles[2]
    first = graphs[0].figure
    assert first.layout.yaxis.type == "linear"  # the newest of cell c, not the wide older one
    assert [t.name for t in _seed_traces(first)] == LABELS
    assert [t.name for t in _seed_traces(graphs[1].figure)] == ["nqsbench spring",
                                                                "NetKet spring"]
    assert graphs[0].style["height"] == f"{target_race_figures.TARGET_RACE_HEIGHT}px"
    tables = _typed(page, performance.TARGET_TABLE)
    assert [len(t.rowData) for t in tables] == [3, 2, 3, 3]
    assert tables[0].rowData == target_race_figures.summary_rows(newest)
    assert not [c for c in _components(page) if getattr(c, "id", None) == performance.NO_TARGET_RACE]
    assert "NVIDIA H200" in performance.devices(data)


def test_a_directory_with_only_target_races_shows_the_page(tmp_path):
    directory = tmp_path / "results"
    write_target_race(directory, _record())
    with create_app(directory).server.app_context():
        page = performance.layout()
        assert "empty-results" not in _render(page)
        assert len(_typed(page, performance.TARGET_GRAPH)) == 1
        race, table, scaling = performance.update(DEVICE)  # the step-time race: none yet
        assert "No race yet" in race.layout.annotations[0].text and "No race" in table


def test_an_unreadable_race_file_is_named_once_and_the_page_still_renders(results):
    write_target_race(results, _record())
    broken = results / "compare" / "zz-time-to-target-broken.json"
    broken.write_text('{"truncated')
    data = components.current_data()
    assert len(data.problems) == 1 and str(broken) in data.problems[0]
    assert len(data.target_races) == 1
    banner = components.problems_banner(data)
    assert str(broken) in str(banner.children)
    page = performance.layout()
    _render(page)
    assert len(_typed(page, performance.TARGET_GRAPH)) == 1


def test_a_race_whose_seed_runs_cannot_be_read_is_skipped_with_a_problem(results):
    raw = _record(cell_id="bad").to_json()
    del raw["engines"][1]["runs"][2]["seconds"]  # an unreached seed: its whole run's seconds
    (results / "compare" / "bad-time-to-target.json").write_text(json.dumps(raw))
    write_target_race(results, _record())
    data = components.current_data()
    assert len(data.target_races) == 1 and data.target_races[0].cell_id == "c"
    assert len(data.problems) == 1 and "factored L=4 bad" in data.problems[0]
    assert len(_typed(performance.layout(), performance.TARGET_GRAPH)) == 1


def test_the_target_race_graphs_save_in_the_format_chosen_in_the_header(results):
    app = create_app(results)
    ids = [{"type": performance.TARGET_GRAPH, "index": "c-cpu"}]
    configs = performance.target_race_export("svg", ids)
    assert configs[0]["toImageButtonOptions"]["format"] == "svg"
    assert configs[0]["toImageButtonOptions"]["filename"] == "nqsbench-time-to-target-c-cpu"
    assert performance.target_race_export("png", []) == []
    outputs = [spec["output"] for spec in app.callback_map.values()]
    assert any(performance.TARGET_GRAPH in str(output) for output in outputs)
