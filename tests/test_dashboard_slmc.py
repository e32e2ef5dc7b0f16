"""The dashboard's SLMC acceptance page (/slmc): its figures on synthetic records with planted
numbers (acceptance against layers and parameters, the loss from acceptance with its power law),
their empty states, and the page with, without and beside unreadable SLMC records."""

from __future__ import annotations

import json
from pathlib import Path

import dash
import plotly.graph_objects as go
import plotly.io
import pytest
from dash_tree import components as _components

from dashboard import create_app, slmc_figures
from dashboard.pages import slmc
from suite.report.slmc import PAPER_LINEAR_ACCEPTANCE
from suite.report.slmc_records import FRAME_COLUMNS, slmc_frame, slmc_record, write_slmc_record

PREFACTOR, EXPONENT = 2.5, -0.75  # the planted power law of the Transformer rows
# (model, layers, seed, parameters, acceptance, acceptance error)
ROWS = (
    ("linear", 0, 0, 3, 0.2, 0.01),
    ("transformer", 1, 0, 120, 0.35, 0.02),
    ("transformer", 2, 0, 240, 0.5, 0.03),
    ("transformer", 3, 0, 360, 0.625, 0.04),
)
LINEAR_LOSS = 0.9


def _loss(model: str, parameters: int) -> float:
    return LINEAR_LOSS if model == "linear" else PREFACTOR * parameters ** EXPONENT


def _observables(shift: float) -> dict:
    def entry(mean):
        return {"mean": mean, "error": 0.01, "tau": 2.0, "r_hat": 1.01}

    return {name: {"exact": entry(value), "slmc": entry(value + shift), "z": shift / 0.01 / 2**0.5}
            for name, value in (("magnetisation", 0.1), ("staggered_magnetisation", 0.8),
                                ("structure_factor_pi_pi", 0.64))}


def _record(model, layers, seed, parameters, acceptance, error, *, L=6, temperature=0.05,
            loss=None, index=0):
    config = {"family": "slmc", "L": L, "t": 1.0, "J": 1.0, "mu": 0.0, "temperature": temperature,
              "effective_model": model, "layers": layers, "couplings": 3, "block_shells": 1,
              "seed": seed}
    metrics = {"n_parameters": parameters, "acceptance": acceptance, "acceptance_error": error,
               "acceptance_tau": 1.5, "inner_acceptance": 0.4,
               "loss_from_acceptance": _loss(model, parameters) if loss is None else loss,
               "train_mse": 0.01, "test_mse": 0.02, "linear_test_mse": 0.05,
               "seconds_per_outer_step": 0.1, "seconds_per_exact_sweep": 0.5, "wall_seconds": 60.0}
    cell = f"{model}-{layers}-L{L}-T{temperature:g}-s{seed}"
    return slmc_record(
        suite_version="0.0.0", git={}, matrix="slmc", cell_id=cell, label=cell, config_hash=cell,
        config=config, metrics=metrics, observables=_observables(0.005 * layers),
        training={"loss": [1.0, 0.5], "epochs": 2}, environment={"device": "cpu"},
        started_at="2026-12-01T00:00:00+0000",
        finished_at=f"2026-12-01T00:{index:02d}:00+0000")


def _records(rows=ROWS):
    return [_record(*row, index=i) for i, row in enumerate(rows)]


def _frame(rows=ROWS):
    return slmc_frame(_records(rows))


def _by_model(figure: go.Figure, model: str) -> list[go.Scatter]:
    return [t for t in figure.data if t.meta and t.meta.get("model") == model]


# --- acceptance against layers and parameters ----------------------------------------------------

def test_the_layers_figure_has_each_point_at_its_layers_with_its_error_bar():
    figure = slmc_figures.acceptance_vs_layers(_frame())
    assert [t.name for t in figure.data][:2] == ["linear", "Transformer"]
    (linear,), (transformer,) = _by_model(figure, "linear"), _by_model(figure, "transformer")
    assert list(linear.x) == [0.0] and list(linear.y) == [0.2]
    assert list(linear.error_y.array) == [0.01] and linear.marker.symbol == "square"
    assert list(transformer.x) == [1.0, 2.0, 3.0] and list(transformer.y) == [0.35, 0.5, 0.625]
    assert list(transformer.error_y.array) == [0.02, 0.03, 0.04]
    assert transformer.mode == "lines+markers"
    assert linear.marker.color == transformer.marker.color  # one group, one colour
    assert "not averaged" in transformer.hovertext[0] and "seed 0" in transformer.hovertext[0]
    assert "2 attention layer(s)" in transformer.hovertext[1]
    assert "attention layers" in figure.layout.xaxis.title.text
    assert "acceptance" in figure.layout.yaxis.title.text
    assert figure.layout.height == slmc_figures.SLMC_HEIGHT


def test_the_paper_s_linear_acceptance_is_a_dashed_line_at_0_21():
    for build in (slmc_figures.acceptance_vs_layers, slmc_figures.acceptance_vs_parameters):
        (paper,) = _by_model(build(_frame()), "paper")
        assert PAPER_LINEAR_ACCEPTANCE == 0.21
        assert list(paper.y) == [0.21, 0.21] and paper.line.dash == "dash"
        assert paper.name.startswith(slmc_figures.PAPER_NAME) and "Nagai & Tomiya" in paper.name
        assert "Phys. Soc. Jpn." in paper.hovertext[0]
    paper = _by_model(slmc_figures.acceptance_vs_layers(_frame()), "paper")[0]
    assert paper.x[0] < 0 and paper.x[1] > 3  # across every point


def test_several_seeds_are_each_their_own_point():
    rows = (*ROWS, ("transformer", 2, 1, 240, 0.54, 0.03))
    figure = slmc_figures.acceptance_vs_layers(_frame(rows))
    (transformer,) = _by_model(figure, "transformer")
    assert list(transformer.x) == [1.0, 2.0, 2.0, 3.0]
    assert list(transformer.y) == [0.35, 0.5, 0.54, 0.625]
    assert transformer.mode == "markers"  # no line zigzagging through a column of seeds
    assert "seed 1" in transformer.hovertext[2] and "not averaged" in transformer.hovertext[2]


def test_several_lattices_are_separate_traces_named_by_their_group():
    rows = [_record(*row, index=i) for i, row in enumerate(ROWS)]
    rows.append(_record("linear", 0, 0, 2, 0.4, 0.02, L=4, temperature=0.1, index=9))
    figure = slmc_figures.acceptance_vs_layers(slmc_frame(rows))
    names = [t.name for t in figure.data if t.meta["model"] != "paper"]
    assert names == ["linear, 4x4, T = 0.1", "linear, 6x6, T = 0.05", "Transformer, 6x6, T = 0.05"]
    assert figure.data[0].marker.color != figure.data[1].marker.color


def test_the_parameters_figure_has_a_log_axis_of_parameter_counts():
    figure = slmc_figures.acceptance_vs_parameters(_frame())
    assert figure.layout.xaxis.type == "log" and "parameters" in figure.layout.xaxis.title.text
    (linear,), (transformer,) = _by_model(figure, "linear"), _by_model(figure, "transformer")
    assert list(linear.x) == [3.0] and list(transformer.x) == [120.0, 240.0, 360.0]
    assert list(transformer.y) == [0.35, 0.5, 0.625]
    assert list(transformer.error_y.array) == [0.02, 0.03, 0.04]


# --- the loss from acceptance and its power law --------------------------------------------------

def test_the_loss_figure_is_log_log_and_fits_the_planted_power_law():
    figure = slmc_figures.loss_scaling(_frame())
    assert figure.layout.xaxis.type == "log" and figure.layout.yaxis.type == "log"
    assert "loss from acceptance" in figure.layout.yaxis.title.text
    (transformer,), (linear,) = _by_model(figure, "transformer"), _by_model(figure, "linear")
    assert list(transformer.x) == [120.0, 240.0, 360.0]
    assert list(transformer.y) == [PREFACTOR * n ** EXPONENT for n in (120, 240, 360)]
    assert list(linear.y) == [LINEAR_LOSS]  # drawn, but not in the fit
    (fit,) = _by_model(figure, "fit")
    assert abs(fit.meta["exponent"] - EXPONENT) < 1e-9
    assert fit.meta["prefactor"] == pytest.approx(PREFACTOR, rel=1e-9)
    assert fit.meta["points"] == 3
    assert "N^-0.750" in fit.name and fit.name.startswith(slmc_figures.FIT_PREFIX)
    assert fit.x[0] == pytest.approx(120) and fit.x[-1] == pytest.approx(360)
    assert fit.y[-1] == pytest.approx(PREFACTOR * 360 ** EXPONENT, rel=1e-9)
    assert "fitted" in figure.layout.title.text


@pytest.mark.parametrize("rows", [
    ROWS[:2],  # one Transformer point
    (*ROWS[:2], ("transformer", 1, 1, 120, 0.36, 0.02)),  # two seeds, one parameter count
])
def test_no_fit_without_two_transformer_parameter_counts(rows):
    figure = slmc_figures.loss_scaling(_frame(rows))
    assert not _by_model(figure, "fit")
    assert "no power-law fit" in figure.layout.title.text
    assert len(_by_model(figure, "transformer")[0].x) == len(rows) - 1


def test_a_record_without_a_finite_loss_is_left_out_and_counted():
    records = _records()
    records.append(_record("transformer", 4, 0, 480, 0.0, 0.0, loss=None, index=8))
    raw = records[-1].to_json()
    raw["metrics"]["loss_from_acceptance"] = None  # acceptance 0: no finite loss
    records[-1] = slmc_record(**{k: v for k, v in raw.items() if k not in ("schema_version",
                                                                            "kind")})
    figure = slmc_figures.loss_scaling(slmc_frame(records))
    assert list(_by_model(figure, "transformer")[0].x) == [120.0, 240.0, 360.0]
    assert abs(_by_model(figure, "fit")[0].meta["exponent"] - EXPONENT) < 1e-9
    assert "1 record(s) without a finite loss left out" in figure.layout.title.text


def test_an_empty_frame_says_there_are_no_slmc_records():
    empty = slmc_frame([])
    assert list(empty.columns) == list(FRAME_COLUMNS)
    for build in (slmc_figures.acceptance_vs_layers, slmc_figures.acceptance_vs_parameters,
                  slmc_figures.loss_scaling):
        figure = build(empty)
        assert not figure.data
        assert slmc_figures.NO_RECORDS in figure.layout.annotations[0].text
        assert figure.layout.height == slmc_figures.SLMC_HEIGHT


# --- the page --------------------------------------------------------------------------------------

def _render(page) -> str:
    return plotly.io.json.to_json_plotly(page)  # as Dash sends it: fails on what JSON cannot hold


def _by_id(page) -> dict:
    return {c.id: c for c in _components(page) if isinstance(getattr(c, "id", None), str)}


def test_the_page_shows_the_figures_and_tables_of_the_records(tmp_path):
    for record in _records():
        write_slmc_record(tmp_path, record)
    with create_app(tmp_path).server.app_context():
        page = slmc.layout()
    text = _render(page)
    json.loads(text)
    parts = _by_id(page)
    assert set(slmc.GRAPHS) <= set(parts) and slmc.EMPTY not in parts
    assert parts[slmc.PROBLEMS].hidden
    layers = parts[slmc.LAYERS_GRAPH].figure
    assert list(_by_model(layers, "transformer")[0].y) == [0.35, 0.5, 0.625]
    assert parts[slmc.LOSS_GRAPH].style["height"] == f"{slmc_figures.SLMC_HEIGHT}px"
    fit = _by_model(parts[slmc.LOSS_GRAPH].figure, "fit")[0]
    assert abs(fit.meta["exponent"] - EXPONENT) < 1e-9
    table = parts[slmc.TABLE].children
    assert table.startswith("### 6x6, T = 0.05") and "| transformer | 3 |" in table
    observables = parts[slmc.OBSERVABLES].children
    assert observables.count("staggered_magnetisation") == 4 and "| z |" in observables
    assert "SLMC acceptance" in text and "Nagai & Tomiya" in text and "21%" in text
    assert "4 SLMC record(s)" in text


def test_an_unreadable_slmc_file_is_counted_and_the_page_still_renders(tmp_path):
    for record in _records():
        write_slmc_record(tmp_path, record)
    broken = tmp_path / "slmc" / "zz-broken.json"
    broken.write_text('{"truncated')
    with create_app(tmp_path).server.app_context():
        page = slmc.layout()
    _render(page)
    parts = _by_id(page)
    problems = parts[slmc.PROBLEMS]
    assert not getattr(problems, "hidden", False) and "1 SLMC file(s) skipped" in str(problems.children)
    assert str(broken) in str(problems.children)
    assert set(slmc.GRAPHS) <= set(parts)


def test_an_empty_results_directory_says_which_command_makes_records(tmp_path):
    with create_app(tmp_path / "nowhere").server.app_context():
        page = slmc.layout()
    text = _render(page)
    parts = _by_id(page)
    assert slmc.EMPTY in parts and not set(slmc.GRAPHS) & set(parts)
    assert "nqsbench run --matrix slmc-smoke" in text
    assert "nqsbench run --matrix slmc " in text  # the 6x6 headline, not only the smoke matrix
    assert str(Path(tmp_path / "nowhere" / "slmc")) in str(page)  # (JSON escapes "/")


def test_the_app_serves_the_slmc_page(tmp_path):
    app = create_app(tmp_path)
    pages = {page["path"]: page for page in dash.page_registry.values()}
    assert pages["/slmc"]["name"] == "SLMC acceptance"
    assert pages["/slmc"]["module"] == slmc.__name__
    client = app.server.test_client()
    assert client.get("/slmc").status_code == 200
    shell = client.get("/_dash-layout")
    assert shell.status_code == 200 and "SLMC acceptance" in json.dumps(shell.get_json())
    outputs = " ".join(str(spec["output"]) for spec in app.callback_map.values())
    assert all(graph in outputs for graph in slmc.GRAPHS)  # saved in the header's format
