"""The dashboard's data layer, pure figure functions and callbacks (called as plain functions).

The committed results (``results/runs``: the quick matrix; ``results/asv``: five commits of the
smoke profile) are the fixture, copied with one corrupt record added.
"""

from __future__ import annotations

import ast
import json
import math
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import pytest
from conftest import GOLDEN
from dash_tree import components as _components

from dashboard import components, create_app, figures, performance_figures
from dashboard.colours import OTHER_COLOURS
from dashboard.data import attention_summary, load_data, read_run
from dashboard.pages import accuracy, attention, performance, regressions, run, table
from suite.report.analysis import pareto_front, published_points, scaling_summary
from suite.report.references import load_published
from suite.report.regressions import cell_label, detect_changes

REPO = Path(__file__).resolve().parents[1]
CORRUPT = "zzzzzzzzzzzz-20260101T000000Z-deadbeef.json"


def copy_quick_records(destination: Path) -> None:
    """The nine ``quick`` records among the golden ones (tests/data/golden/records.txt), so the
    expectations hold whatever re-runs of the matrix are committed since."""
    destination.mkdir(parents=True)
    for name in (GOLDEN / "records.txt").read_text().split():
        path = REPO / "results" / "runs" / name
        if json.loads(path.read_text()).get("matrix") == "quick":
            shutil.copy(path, destination / path.name)


@pytest.fixture
def results(tmp_path: Path) -> Iterator[Path]:
    """A copy of the committed quick results and asv history, with one truncated record."""
    directory = tmp_path / "results"
    copy_quick_records(directory / "runs")
    shutil.copytree(REPO / "results" / "asv", directory / "asv")
    (directory / "runs" / CORRUPT).write_text('{"truncated')
    with create_app(directory).server.app_context():  # the pages read the app's results
        yield directory


@pytest.fixture
def data(results: Path):
    return load_data(results)


def _run_id(data, **where) -> str:
    runs = data.completed
    for key, value in where.items():
        runs = runs[runs[key] == value]
    return runs["run"].iloc[0]


# --- what the dashboard imports ----------------------------------------------------------------

def test_the_dashboard_imports_only_suite_report():
    imported = set()
    for path in (REPO / "dashboard").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module:
                imported.add(node.module)
            elif isinstance(node, ast.Import):
                imported.update(alias.name for alias in node.names)
    ours = {name for name in imported if name.split(".")[0] == "suite"}
    assert ours and all(name == "suite.report" or name.startswith("suite.report.")
                        or name == "suite.version" for name in ours), sorted(ours)


def test_importing_the_dashboard_loads_no_jax():
    code = ("import sys, dashboard; sys.exit(sorted(m for m in sys.modules if m.split('.')[0] in "
            "('jax', 'jaxlib', 'flax', 'optax', 'netket')) or 0)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr


# --- data layer -------------------------------------------------------------------------------

def test_corrupt_record_is_skipped_and_named(data):
    assert len(data.runs) == 9
    assert len(data.problems) == 1 and CORRUPT in data.problems[0]
    banner = components.problems_banner(data)
    assert CORRUPT in str(banner.children) and not getattr(banner, "hidden", False)


def test_load_is_cached_until_the_directory_changes(results, data):
    assert load_data(results) is data
    extra = next((results / "runs").glob("8c5662968ca0-*.json"))
    shutil.copy(extra, results / "runs" / ("8c5662968ca0-29990101T000000Z-00000000.json"))
    again = load_data(results)
    assert again is not data and len(again.runs) == 10


def test_missing_results_directory_loads_empty(tmp_path):
    empty = load_data(tmp_path / "nowhere")
    assert empty.runs.empty and empty.asv.empty and not empty.problems


def test_published_relative_error_is_against_our_reference():
    points = published_points()
    t5 = points[(points["L"] == 6) & (points["label"].str.startswith("ViT T5"))].iloc[0]
    # Table 1: -0.503182 against the exact 6x6 energy -0.50380965 (Schulz et al. 1996)
    assert t5["relative_error"] == pytest.approx((0.50380965 - 0.503182) / 0.50380965, rel=1e-12)
    assert t5["model_name"] == "T5"


def test_published_seconds_per_step_follow_from_the_published_wall_time():
    checked = 0
    for result in load_published():
        match = re.match(r"([\d.]+) h for ([\d,]+) steps", result.cost or "")
        if match:
            hours, steps = float(match[1]), int(match[2].replace(",", ""))
            assert result.seconds_per_step == pytest.approx(hours * 3600 / steps)
            checked += 1
    assert checked == 6


def test_regression_changes_lists_the_measured_change(data):
    machine = data.asv[data.asv["metric"] == "seconds_per_step"]
    changes = detect_changes(machine, 0.10)
    assert not changes.empty
    for row in changes.itertuples():
        assert abs(row.change) > 0.10
        assert row.change == pytest.approx(row.value / row.previous - 1)
    # the one step above 10 %: factored J2=0.5 sped up 13 % at commit 7e4bd5b3
    assert changes[["cell", "kind"]].values.tolist() == [["attention=factored J2=0.5", "improvement"]]
    assert changes["commit"].iloc[0].startswith("7e4bd5b3")
    assert changes["change"].iloc[0] == pytest.approx(-0.13, abs=0.005)
    assert detect_changes(machine, 10.0).empty


def test_attention_summary_factored_is_input_independent(data):
    summary = attention_summary(data)
    assert len(summary) == 9
    factored = summary[summary["model_name"] == "Factored"]
    assert (factored[["initial", "final"]] < figures.NUMERICAL_ZERO).all().all()
    t5 = summary[summary["model_name"] == "T5"]
    assert (t5["initial"] > 0.01).all()


# --- figures ------------------------------------------------------------------------------------

def test_pareto_front_known_answer():
    frame = pd.DataFrame({"cost": [1, 2, 2, 3, 4, np.nan, 5],
                          "error": [0.5, 0.3, 0.2, 0.25, 0.1, 0.01, 0.1]})
    assert pareto_front(frame, "cost", "error").tolist() == [True, False, True, False, True,
                                                              False, False]


def _trace(figure: go.Figure, name: str) -> go.Scatter:
    return next(t for t in figure.data if t.name == name)


def test_accuracy_figure_plots_absolute_relative_error_with_run_ids(data):
    runs = data.completed[(data.completed["L"] == 4) & (data.completed["J2"] == 0.5)]
    figure = figures.accuracy_cost_figure(runs, published_points().iloc[0:0], "n_parameters")
    factored = _trace(figure, "Factored")
    row = runs[runs["model_name"] == "Factored"].iloc[0]
    assert list(factored.customdata) == [row["run"]]
    assert factored.y[0] == pytest.approx(abs(row["relative_error"]))
    assert factored.error_y.array[0] == row["energy_error"] / abs(row["reference_energy"])
    assert figure.layout.xaxis.type == "log" and figure.layout.yaxis.type == "log"
    front = _trace(figure, "Pareto front")
    assert list(front.x) == [row["n_parameters"]]  # Factored: fewest parameters and best error


def test_accuracy_figure_overlays_published_results():
    published = published_points()
    published = published[(published["L"] == 10) & (published["J2"] == 0.5)]
    runs = pd.DataFrame(columns=["relative_error", "n_parameters", "seconds_per_step", "run",
                                 "model_name", "device"])
    by_params = figures.accuracy_cost_figure(runs, published, "n_parameters")
    stars = _trace(by_params, "published")
    assert len(stars.x) == published["n_parameters"].notna().sum() == 5
    assert stars.marker.symbol == "star"
    by_seconds = figures.accuracy_cost_figure(runs, published, "seconds_per_step")
    assert len(_trace(by_seconds, "published").x) == 4


def test_accuracy_figure_without_points_says_so():
    empty = pd.DataFrame(columns=["relative_error", "n_parameters", "run", "model_name", "device"])
    figure = figures.accuracy_cost_figure(empty, published_points().iloc[0:0], "n_parameters")
    assert not figure.data and "No run" in figure.layout.annotations[0].text


def test_below_reference_points_are_open_markers(data):
    runs = data.completed[data.completed["L"] == 4].copy()
    runs.loc[runs.index[0], "relative_error"] = -1e-4
    figure = figures.accuracy_cost_figure(runs, published_points().iloc[0:0], "n_parameters")
    symbols = [s for t in figure.data if t.mode == "markers" for s in t.marker.symbol]
    assert symbols.count("circle-open") == 1


def test_regression_figure_orders_commits_by_date_and_marks_changes():
    dates = pd.to_datetime(["2026-01-03", "2026-01-01", "2026-01-02"], utc=True)
    rows = []
    for commit, date, value in zip(["ccc", "aaa", "bbb"], dates, [1.3, 1.0, 1.02], strict=True):
        rows.append({"machine": "m", "environment": "e", "commit": commit * 5, "commit_date": date,
                     "benchmark": "bench_cells.Cell.track_seconds_per_step",
                     "metric": "seconds_per_step", "params": {"attention": "t5"},
                     "value": value, "unit": "seconds"})
    frame = pd.DataFrame(rows)
    figure = figures.regression_figure(frame, detect_changes(frame, 0.1), threshold=0.1)
    line = _trace(figure, "attention=t5")
    assert list(line.x) == [0, 1, 2] and list(line.y) == [1.0, 1.02, 1.3]
    assert list(figure.layout.xaxis3.ticktext) == ["aaaaaaaa"[:8], "bbbbbbbb"[:8], "cccccccc"[:8]]
    crosses = [t for t in figure.data if t.marker.symbol == "x" and t.x and t.x[0] is not None]
    assert len(crosses) == 1 and list(crosses[0].x) == [2]


def test_training_figure_reproduces_the_trace(data):
    record = read_run(data, _run_id(data, L=4, J2=0.0, attention="t5"))
    figure = figures.training_figure(record)
    reference = record["metrics"]["reference"]["energy_per_site"]
    expected = np.abs((np.array(record["trace"]["energy"]) - reference) / abs(reference))
    np.testing.assert_allclose(figure.data[0].y, expected)
    assert figure.layout.yaxis.type == "log"
    assert list(figure.data[2].y) == record["trace"]["acceptance"]
    assert list(figure.data[3].y) == record["trace"]["seconds"]


def test_training_figure_of_a_failed_run_explains():
    record = {"status": "failed", "failure": {"step": 92, "reason": "energy is nan"}}
    figure = figures.training_figure(record)
    assert "step 92" in figure.layout.annotations[0].text


def test_attention_figure_one_heatmap_per_layer_and_head():
    maps = np.random.default_rng(0).random((2, 3, 4, 4))
    figure = figures.attention_figure(maps, "t")
    heatmaps = [t for t in figure.data if isinstance(t, go.Heatmap)]
    assert len(heatmaps) == 6
    np.testing.assert_array_equal(heatmaps[4].z, maps[1, 1])


def test_input_dependence_figure_draws_zero_as_a_label():
    frame = pd.DataFrame({"label": ["T5 run", "Factored run"], "model_name": ["T5", "Factored"],
                          "initial": [0.5, 1e-17], "final": [0.1, 0.0]})
    figure = figures.input_dependence_figure(frame)
    initial = _trace(figure, "initial")
    assert initial.y[0] == 0.5 and math.isnan(initial.y[1])
    assert [a.x for a in figure.layout.annotations] == ["Factored run"]


# --- callbacks and layouts, called as plain functions -------------------------------------------

def test_accuracy_callback_filters_and_links_to_runs(results, data):
    system = components.system_value(4, 0.5)
    by_params, by_seconds, text = accuracy.update_figures(system, [1], ["AMD EPYC (2 cores)"],
                                                          ["published"])
    ids = {run for t in by_params.data if t.customdata is not None for run in t.customdata}
    assert ids == set(data.completed[(data.completed["L"] == 4)
                                     & (data.completed["J2"] == 0.5)]["run"])
    assert "3 run(s) plotted" in text
    nothing, _, _ = accuracy.update_figures(system, [4], ["AMD EPYC (2 cores)"], [])
    assert not nothing.data
    run_id = next(iter(ids))
    assert accuracy.run_href({"points": [{"customdata": run_id}]}) == f"/run?id={run_id}"
    assert accuracy.run_href({"points": [{"x": 1}]}) is None and accuracy.run_href(None) is None


def test_accuracy_callback_overlays_table_1_at_6x6(results):
    figure, _, text = accuracy.update_figures(components.system_value(6, 0.5), [1, 4],
                                              ["AMD EPYC (2 cores)"], ["published"])
    assert len(_trace(figure, "published").x) == 3 and "3 published" in text


def test_regressions_callback(results, data):
    machine = regressions.machine_value(data.asv["machine"].iloc[0], data.asv["environment"].iloc[0])
    cells = ["attention=t5 J2=0.5", "attention=factored J2=0.5"]
    figure, changes = regressions.update(machine, 10, cells)
    lines = {t.name for t in figure.data if t.mode == "lines+markers"}
    assert lines == set(cells)
    assert "13" in str(changes)  # factored J2=0.5 sped up 13 % at commit 7e4bd5b3
    figure, changes = regressions.update(machine, 1000, cells)
    assert "No change" in str(changes)


def test_table_rows_are_json_ready_and_link_to_runs(data):
    rows = table.grid_rows(data.runs)
    json.dumps(rows, allow_nan=False)
    assert {row["run_link"].split("id=")[1].rstrip(")") for row in rows} == set(data.runs["run"])


def test_paper_table_callback_is_the_table_command(results, data):
    system = components.system_value(4, 0.0)
    text, kind = table.paper_table(data.runs, system, "latex")
    assert kind == "text" and "\\begin{tabular}" in text and "-0.7016(2)" in text
    children = table.update_paper_table(system, "markdown")
    assert "| Factored | 1 | 16 | 2 | 600 | -0.7016(2) |" in children[0].children


def test_run_callback(results, data):
    run_id = _run_id(data, L=4, J2=0.5, attention="factored")
    figure, summary, record = run.update(run_id)
    assert len(figure.data) == 4 and json.loads(record)["metrics"]["n_parameters"] == 3464
    assert f"/attention?id={run_id}" in str(summary)
    figure, summary, record = run.update("no-such-run")
    assert not figure.data and record == ""


def test_attention_callback(results, data):
    run_id = _run_id(data, L=6, attention="t5")
    maps, text, options, summary = attention.update(run_id, "initial", 2)
    record = read_run(data, run_id)
    heatmaps = [t for t in maps.data if isinstance(t, go.Heatmap)]
    assert len(heatmaps) == 2  # 1 layer x 2 heads
    np.testing.assert_array_equal(heatmaps[1].z, np.asarray(record["attention"]["initial"])[2, 0, 1])
    assert len(options) == 3 and "after training" in text
    assert set(summary.data[0].x) == {label for label in attention_summary(data)
                                      .query("L == 6")["label"]}


@pytest.mark.parametrize("page", [accuracy, regressions, table, run, attention, performance])
def test_every_page_on_an_empty_directory_says_how_to_get_results(tmp_path, page):
    with create_app(tmp_path / "empty").server.app_context():
        text = str(page.layout())
    assert ("empty-results" in text and "nqsbench run" in text) or "empty-asv" in text


def _call(app, **values) -> dict:
    """The callback whose inputs are ``values`` (keyword ``id`` for the component ``id``'s
    ``value``), answered by ``app`` over HTTP as a browser asks; fails on anything but 200."""
    wanted = {name.replace("_", "-") for name in values}
    key, spec = next((key, spec) for key, spec in app.callback_map.items()
                     if {i["id"] for i in spec["inputs"]} == wanted)
    outputs = spec["output"] if isinstance(spec["output"], list) else [spec["output"]]
    answer = app.server.test_client().post("/_dash-update-component", json={
        "output": key, "outputs": [{"id": o.component_id, "property": o.component_property}
                                   for o in outputs],
        "inputs": [{"id": i["id"], "property": i["property"],
                    "value": values[i["id"].replace("-", "_")]} for i in spec["inputs"]],
        "changedPropIds": [f"{spec['inputs'][0]['id']}.value"], "state": []})
    assert answer.status_code == 200, answer.get_data(as_text=True)[-2000:]
    return answer.get_json()["response"]


def _call_run_page(app, run_id: str) -> dict:
    """The run page's callback for ``run_id``, answered by ``app`` over HTTP as a browser asks."""
    return _call(app, run_select=run_id)


def test_two_apps_in_one_process_keep_their_own_results(results, data, tmp_path):
    other = tmp_path / "other"
    (other / "runs").mkdir(parents=True)
    kept = next(path for path in (results / "runs").glob("*.json") if path.name != CORRUPT
                and json.loads(path.read_text()).get("status") == "completed")
    shutil.copy(kept, other / "runs" / kept.name)
    first, second = create_app(results), create_app(other)
    for app, directory, count in ((first, results, 9), (second, other, 1)):
        with app.server.app_context():
            assert components.results_dir() == directory
            assert len(components.current_data().runs) == count
        shell = app.server.test_client().get("/_dash-layout")
        assert shell.status_code == 200
        text = json.dumps(shell.get_json())
        assert str(directory.resolve()) in text and f"{count} run record(s)" in text
    # a run only the first app has: the second answers from its own directory, not the first's
    only_first = next(run_id for run_id in data.runs["run"] if run_id != kept.stem)
    assert json.loads(_call_run_page(first, only_first)["run-record"]["children"])["cell_id"]
    assert _call_run_page(second, only_first)["run-record"]["children"] == ""
    assert json.loads(_call_run_page(second, kept.stem)["run-record"]["children"])["cell_id"]


def test_pages_outside_an_app_say_so():
    with pytest.raises(RuntimeError, match="create_app"):
        components.current_data()


def _component_ids(component) -> set[str]:
    """Every ``id`` in a Dash component tree."""
    ids = {component.id} if isinstance(getattr(component, "id", None), str) else set()
    children = getattr(component, "children", None)
    for child in children if isinstance(children, (list, tuple)) else [children]:
        if child is not None and not isinstance(child, (str, int, float)):
            ids |= _component_ids(child)
    return ids


@pytest.mark.parametrize(("page", "main"), [
    (accuracy, {accuracy.PARAMS_GRAPH, accuracy.SECONDS_GRAPH}),
    (regressions, {regressions.GRAPH}),
    (table, {table.GRID, table.PAPER}),
    (run, {run.GRAPH}),
    (attention, {attention.MAPS_GRAPH, attention.SUMMARY_GRAPH}),
    (performance, {performance.RACE_GRAPH, performance.SCALING_GRAPH}),
])
def test_every_page_lays_out_its_figures_with_results(results, page, main):
    ids = _component_ids(page.layout())
    assert main <= ids
    assert not {i for i in ids if i.startswith("empty")}  # no "produce results first" notice


# --- performance page -----------------------------------------------------------------------------

def _race_rows() -> pd.DataFrame:
    from suite.report.races import COMPARISON_COLUMNS

    rows = [{"cell_id": "a", "label": "attention=t5", "peer": "netket", "peer_version": "3.23.0",
             "L": 4, "J2": 0.5, "attention": "t5", "layers": 1, "d": 8, "heads": 2,
             "samples": 256, "n_parameters": 1000, "steps": 20, "ours_seconds_per_step": 0.1,
             "peer_seconds_per_step": 0.25, "ratio": 0.4, "ours_energy": -0.5,
             "ours_energy_error": 0.01, "peer_energy": -0.49, "peer_energy_error": 0.01,
             "ours_exact_energy": -0.51, "peer_exact_energy": -0.505, "device": "cpu",
             "commit": "abc", "finished_at": "2026-11-22T00:00:00+0000", "path": "x"}]
    return pd.DataFrame(rows, columns=list(COMPARISON_COLUMNS))


def test_race_figure_shows_both_engines_and_the_ratio():
    figure = performance_figures.race_figure(_race_rows())
    ours, theirs = figure.data
    assert list(ours.x) == [0.1] and list(theirs.x) == [0.25] and ours.text == ("×0.40",)
    assert list(ours.y) == ["T5 4×4 J2=0.5 1L"]  # short: the whole cell is in the hover
    assert "nqsbench compare netket" in performance_figures.race_figure(_race_rows().iloc[0:0]) \
        .layout.annotations[0].text


def test_scaling_figure_relative_to_factored():
    runs = pd.DataFrame({"L": [4, 4, 6, 6], "model_name": ["T5", "Factored"] * 2,
                         "seconds_per_step": [2.0, 1.0, 6.0, 2.0]})
    figure = performance_figures.scaling_figure(scaling_summary(runs))
    relative = [t for t in figure.data if t.line.dash == "dot" and t.name == "T5"][0]
    assert list(relative.x) == [4, 6] and list(relative.y) == [2.0, 3.0]


def test_performance_callback_reads_races_and_scaling_runs(results):
    record = json.loads((REPO / "tests" / "data" / "race.json").read_text())
    (results / "compare").mkdir()
    (results / "compare" / "race.json").write_text(json.dumps(record))
    race, table_text, scaling = performance.update(record["environment"]["device"])
    assert list(race.data[0].x) == [record["ours"]["seconds_per_step"]]
    assert f"{record['ratio']:.2f}" in table_text
    assert "nqsbench run --matrix scaling" in scaling.layout.annotations[0].text


# --- issue 16, items 7 to 10: sizes, axis titles, readable races, unknown ids, bad values ---------

def _untitled_axes(figure: go.Figure) -> list[str]:
    """The axes of ``figure`` a reader cannot name: shown with tick labels but no title (an axis
    without tick labels, e.g. of an inner panel of a grid, shows no numbers to name), and, for a
    figure with axes shown, an x or y direction with no titled, numbered axis at all."""
    layout = figure.layout
    axes = {name: layout[name] for name in layout if re.fullmatch(r"[xy]axis\d*", name)}
    shown = {name: axis for name, axis in axes.items()
             if axis.visible is not False and axis.showticklabels is not False}
    missing = [name for name, axis in shown.items() if not axis.title.text]
    if any(axis.visible is not False for axis in axes.values()):
        missing += [f"every {letter} axis" for letter in "xy"
                    if not any(name[0] == letter and axis.title.text for name, axis in shown.items())]
    return missing


def _page_figures(results: Path, data) -> dict[str, go.Figure]:
    """Every figure every page draws, from its callback, on the committed results."""
    (results / "compare").mkdir(exist_ok=True)
    for path in (REPO / "results" / "compare").glob("*.json"):
        shutil.copy(path, results / "compare" / path.name)
    machine = regressions.machine_value(data.asv["machine"].iloc[0], data.asv["environment"].iloc[0])
    cells = sorted(set(data.asv["params"].map(cell_label)))
    by_params, by_seconds, _ = accuracy.update_figures(
        components.system_value(4, 0.5), [1], list(data.completed["device"].unique()), ["published"])
    maps, _, _, summary = attention.update(_run_id(data, L=6, attention="t5"), "final", 0)
    race, _, _ = performance.update(data.completed["device"].iloc[0])
    scaling = performance_figures.scaling_figure(scaling_summary(pd.DataFrame(
        {"L": [4, 4, 6, 6], "model_name": ["T5", "Factored"] * 2,
         "seconds_per_step": [2.0, 1.0, 6.0, 2.0]})))
    return {"accuracy params": by_params, "accuracy seconds": by_seconds,
            "regressions": regressions.update(machine, 10, cells)[0],
            "run": run.update(_run_id(data, L=4, attention="t5"))[0],
            "attention maps": maps, "attention summary": summary, "race": race,
            "scaling": scaling}


def test_every_axis_of_every_figure_has_a_title(results, data):
    figures_ = _page_figures(results, data)
    assert len(figures_["race"].data[0].y) >= 20  # the committed races, all on one device
    untitled = {name: _untitled_axes(figure) for name, figure in figures_.items()}
    assert {name: axes for name, axes in untitled.items() if axes} == {}
    regression_titles = [figures_["regressions"].layout[f"yaxis{i}"].title.text for i in ("", 2, 3)]
    assert regression_titles == [figures.REGRESSION_AXIS_TITLES[m] for m, _, _ in
                                 figures.REGRESSION_METRICS]
    assert "(s)" in regression_titles[0]


def test_every_graph_is_as_tall_as_its_figure(results, data):
    """Each figure sets its height; its graph is responsive and its container gets that height
    in the same callback answer (the regressions figure used to overflow its card)."""
    app = create_app(results)
    figure_outputs = 0
    for key, spec in app.callback_map.items():
        outputs = spec["output"] if isinstance(spec["output"], list) else [spec["output"]]
        graphs = {o.component_id for o in outputs if o.component_property == "figure"}
        styled = {o.component_id for o in outputs if o.component_property == "style"}
        assert graphs <= styled, f"{key}: the figures of {graphs - styled} come without a height"
        figure_outputs += len(graphs)
    assert figure_outputs == 8
    for name, figure in _page_figures(results, data).items():
        assert figure.layout.height, f"{name} sets no height"
    machine = regressions.machine_value(data.asv["machine"].iloc[0], data.asv["environment"].iloc[0])
    answer = _call(app, regressions_machine=machine, regressions_threshold=10,
                   regressions_cells=["attention=t5 J2=0.5"])
    graph = answer[regressions.GRAPH]
    assert graph["style"]["height"] == f"{graph['figure']['layout']['height']}px" == "760px"
    with app.server.app_context():
        page = regressions.layout()
    dash_graph = next(c for c in _components(page) if getattr(c, "id", None) == regressions.GRAPH)
    assert dash_graph.responsive is True and dash_graph.style["height"] == "760px"


def test_attention_heatmaps_name_and_number_their_patches():
    maps = np.random.default_rng(0).random((2, 3, 9, 9))
    figure = figures.attention_figure(maps, "t")
    assert _untitled_axes(figure) == []
    bottom = [figure.layout[f"xaxis{i}"] for i in (4, 5, 6)]
    left = [figure.layout[f"yaxis{i}"] for i in ("", 4)]
    assert {axis.title.text for axis in bottom} == {"key patch"}
    assert {axis.title.text for axis in left} == {"query patch"}
    assert all(axis.showticklabels is not False for axis in bottom + left)
    assert list(figure.data[0].x) == list(range(1, 10)) == list(figure.data[0].y)
    assert figure.layout.xaxis4.dtick == 1 and figures.patch_ticks(25)["dtick"] == 5


def test_race_figure_is_horizontal_with_short_labels_and_the_cell_in_the_hover(data):
    from suite.report.races import load_comparisons

    races = performance.newest_races(load_comparisons(REPO / "results")[0])
    races = races[races["device"] == races["device"].iloc[0]]
    figure = performance_figures.race_figure(races)
    ours, peer = figure.data
    assert ours.orientation == peer.orientation == "h"
    assert len(set(ours.y)) == len(races) >= 20  # one row per cell, none merged
    assert max(len(label) for label in ours.y) <= 30
    assert all(label in hover for label, hover in zip(races["label"], ours.customdata, strict=True))
    assert figure.layout.xaxis.type == "log" and ours.constraintext == "none"
    assert figure.layout.height >= performance_figures.RACE_BAR_PIXELS * len(races)


@pytest.mark.parametrize("page", [run, attention])
def test_an_unknown_run_id_says_so_instead_of_showing_another_run(results, data, page):
    ids = _component_ids(page.layout(id="no-such-run-0000"))
    text = str(page.layout(id="no-such-run-0000"))
    assert "no-such-run" in ids and "no-such-run-0000" in text
    dropdown = "run-select" if page is run else "attention-run"
    chosen = next(c for c in _components(page.layout(id="no-such-run-0000"))
                  if getattr(c, "id", None) == dropdown)
    assert chosen.value is None  # nothing chosen: not the newest run in disguise
    newest = next(c for c in _components(page.layout()) if getattr(c, "id", None) == dropdown)
    assert newest.value and "no-such-run" not in _component_ids(page.layout())
    assert "Choose a run" in (page.update(None) if page is run else page.update(None, "final", 0))[0] \
        .layout.annotations[0].text


def test_attention_page_of_a_run_without_snapshots_says_so(results):
    source = next((results / "runs").glob("8c5662968ca0-*.json"))
    record = json.loads(source.read_text())
    del record["attention"]
    run_id = "8c5662968ca0-29990101T000000Z-00000000"
    (results / "runs" / f"{run_id}.json").write_text(json.dumps(record))
    assert run_id in set(components.current_data().runs["run"])
    text = str(attention.layout(id=run_id))
    assert "no-such-run" in text and "has no attention snapshots" in text and run_id in text


@pytest.mark.parametrize(("inputs", "graph"), [
    ({"accuracy_system": "abc|def", "accuracy_layers": [1], "accuracy_devices": [],
      "accuracy_published": ["published"]}, accuracy.PARAMS_GRAPH),
    ({"accuracy_system": 7, "accuracy_layers": "x", "accuracy_devices": None,
      "accuracy_published": 3}, accuracy.SECONDS_GRAPH),
    ({"regressions_machine": "nonsense", "regressions_threshold": "x",
      "regressions_cells": "y"}, regressions.GRAPH),
    ({"attention_run": ["a"], "attention_stage": "final", "attention_configuration": 0},
     attention.MAPS_GRAPH),
    ({"run_select": {"a": 1}}, run.GRAPH),
    ({"performance_device": 42}, performance.RACE_GRAPH),
])
def test_a_malformed_callback_value_gives_a_message_figure_not_a_500(results, inputs, graph):
    answer = _call(create_app(results), **inputs)
    figure = answer[graph]["figure"]
    assert not figure.get("data") and figure["layout"]["annotations"][0]["text"]


def test_a_malformed_stage_threshold_or_format_is_answered(results, data):
    app = create_app(results)
    run_id = _run_id(data, L=6, attention="t5")
    answer = _call(app, attention_run=run_id, attention_stage="bogus", attention_configuration="x")
    assert "'bogus'" in answer[attention.MAPS_GRAPH]["figure"]["layout"]["annotations"][0]["text"]
    machine = regressions.machine_value(data.asv["machine"].iloc[0], data.asv["environment"].iloc[0])
    answer = _call(app, regressions_machine=machine, regressions_threshold="ten",
                   regressions_cells=["attention=t5 J2=0.5"])
    assert answer[regressions.GRAPH]["figure"]["data"]  # the default threshold instead
    answer = _call(app, table_system="x|y", table_format=["latex"])
    assert "'x|y'" in json.dumps(answer)


# --- issue 18, item 3: baselines and plugins on every page -------------------------------------

PLUGIN = {"model": "my_nets.tiny:build", "options": {"width": 3, "name": "Tiny net"},
          "name": "Tiny net", "file": "/home/me/my_nets/tiny.py",
          "git_commit": "0123456789abcdef0123456789abcdef01234567", "git_dirty": True}


def _other_model_run(results: Path, data, key: str, model: str, options: dict | None,
                     plugin: dict | None = None) -> str:
    """A completed 4x4 J2=0.5 record of ``model`` (from the quick matrix's Factored one: its
    numbers, no attention maps), written as run ``key``...; returns the run id."""
    source = Path(data.completed[(data.completed["L"] == 4) & (data.completed["J2"] == 0.5)
                                 & (data.completed["attention"] == "factored")]["path"].iloc[0])
    record = json.loads(source.read_text())
    record["config"]["model"].update(model=model, model_options=options)
    record.pop("attention", None)
    record.update(cell_id=key, config_hash=key * 4, label=f"model={model}")
    record["metrics"]["n_parameters"] = 1000 + len(key)
    record["metrics"]["relative_error"] *= 2
    if plugin is not None:
        record["plugin"] = plugin
    run_id = f"{key}-29990101T000000Z-00000000"
    (results / "runs" / f"{run_id}.json").write_text(json.dumps(record))
    return run_id


@pytest.fixture
def other_models(results, data) -> dict[str, str]:
    return {"CNN": _other_model_run(results, data, "cnncnncnncnn", "cnn", {"channels": 4}),
            "Tiny net": _other_model_run(results, data, "plugplugplug", PLUGIN["model"],
                                         PLUGIN["options"], PLUGIN)}


def test_the_accuracy_plot_has_a_trace_per_model_family(results, other_models):
    data = components.current_data()
    assert data.runs.set_index("run").loc[list(other_models.values()), "model_name"].tolist() == [
        "CNN", "Tiny net"]
    params, seconds, text = accuracy.update_figures(components.system_value(4, 0.5), [1],
                                                    sorted(data.runs["device"].unique()), [])
    assert "5 run(s) plotted" in text  # the ViT's layers filter leaves the others in
    names = [trace.name for trace in params.data if trace.legendgroup != "front"]
    assert names == ["T5", "Decoupled", "Factored", "CNN", "Tiny net"]
    colours = {trace.name: trace.marker.color for trace in params.data}
    assert colours["CNN"] == figures.MODEL_COLOURS["CNN"] == figures.model_colour("CNN")
    assert colours["Tiny net"] == figures.model_colour("Tiny net")  # from the name: stable
    plugin = next(trace for trace in params.data if trace.name == "Tiny net")
    assert list(plugin.customdata) == [other_models["Tiny net"]]
    no_vit, _, _ = accuracy.update_figures(components.system_value(4, 0.5), [],
                                           sorted(data.runs["device"].unique()), [])
    assert [trace.name for trace in no_vit.data if trace.legendgroup != "front"] == [
        "CNN", "Tiny net"]
    assert "width=3" in plugin.hovertext[0] and "layers=" not in plugin.hovertext[0]


def test_model_order_and_colours_are_stable():
    assert figures._ordered(["zeta", "CNN", "Alpha", "RBM", "T5", "cnn (plugin)"]) == [
        "T5", "RBM", "CNN", "Alpha", "cnn (plugin)", "zeta"]
    assert figures.MODEL_ORDER[:5] == ("T5", "Decoupled", "Factored", "RBM", "CNN")
    colours = {figures.model_colour(f"plugin {i}") for i in range(40)}
    assert colours <= set(OTHER_COLOURS) and len(colours) > 3
    assert not colours & set(figures.MODEL_COLOURS.values())


def test_the_grid_and_the_paper_table_name_the_models(results, other_models):
    data = components.current_data()
    rows = {row["run"]: row for row in table.grid_rows(data.runs)}
    cnn, plugin = rows[other_models["CNN"]], rows[other_models["Tiny net"]]
    assert (cnn["model_name"], cnn["layers"], cnn["d"], cnn["heads"]) == ("CNN", None, None, None)
    assert cnn["model_text"] == "channels=4 layers=2 kernel=3 marshall_sign=true"
    assert (plugin["model_name"], plugin["model_text"]) == ("Tiny net", "width=3")
    json.dumps(list(rows.values()), allow_nan=False)
    text, _ = table.paper_table(data.runs, components.system_value(4, 0.5), "markdown")
    assert "| Model | Layers |" in text and "| CNN | - | - | - | 600 |" in text
    assert "| Tiny net | - | - | - |" in text and "| 1 012 |" in text


def test_the_run_page_of_a_cnn_and_of_a_plugin(results, other_models):
    figure, summary, record = run.update(other_models["CNN"])
    text = str(summary)
    assert len(figure.data) == 4 and json.loads(record)["config"]["model"]["model"] == "cnn"
    assert run.NO_ATTENTION in text and "/attention?id=" not in text
    assert "'CNN'" in text and "channels=4 layers=2" in text and "run-plugin" not in text
    figure, summary, record = run.update(other_models["Tiny net"])
    text = str(summary)
    assert "run-plugin" in text and "'Tiny net'" in text
    for shown in ("my_nets.tiny:build", '{"name": "Tiny net", "width": 3}',
                  "/home/me/my_nets/tiny.py", "0123456789ab-dirty"):
        assert shown in text
    page = _call_run_page(create_app(results), other_models["Tiny net"])  # over HTTP, as a browser
    assert "my_nets.tiny:build" in json.dumps(page)
    maps, message, _, _ = attention.update(other_models["CNN"], "final", 0)
    assert "no attention maps for this model" in message and not maps.data


def test_a_race_of_another_model_is_named_by_it():
    rows = _race_rows().assign(model="cnn", model_name="CNN", model_options=[{"channels": 4}],
                               alpha=1)
    assert performance_figures.race_label(next(rows.itertuples())) == "CNN 4×4 J2=0.5"
    assert "channels=4" in performance_figures.race_hover(next(rows.itertuples()))
    from suite.report.races import comparison_table

    assert "| CNN attention=t5 L=4 |" in comparison_table(rows.assign(label="attention=t5"))
    assert "| attention=t5 L=4 |" in comparison_table(_race_rows())  # the label names the ViT
