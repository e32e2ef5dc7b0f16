"""Issue 18, item 3: one name per model everywhere (tables, figures, records), without JAX."""

from __future__ import annotations

from pathlib import Path

import pytest

from suite.bench.config import ModelConfig, RunConfig
from suite.report.models import (
    PLUGIN_SUFFIX,
    display_model_name,
    distinguishing_labels,
    model_details,
    model_sort_key,
    options_key,
)
from suite.report.records import SCHEMA_VERSION, STATUS_FAILED, Failure, RunRecord
from suite.report.rows import run_columns, run_row


@pytest.mark.parametrize(("model", "options", "attention", "name"), [
    ("vit", None, "t5", "T5"),
    ("vit", None, "decoupled", "Decoupled"),
    ("vit", None, "factored", "Factored"),
    ("vit", None, None, "ViT"),
    ("rbm", None, "factored", "RBM"),  # a baseline's attention setting is an unused default
    ("cnn", {"channels": 16}, "factored", "CNN"),
    ("my_model:build", None, "factored", "build"),  # the factory's name
    ("pkg.nets:make_net", {"depth": 3}, None, "make_net"),
    ("pkg.nets:make_net", {"name": "Deep sets", "depth": 3}, None, "Deep sets"),  # the option
    ("pkg.nets:make_net", {"name": "  "}, None, "make_net"),  # a blank name names nothing
    # a plugin never passes for a built-in model, whatever the case
    ("zoo:cnn", None, None, "cnn" + PLUGIN_SUFFIX),
    ("zoo:make", {"name": "RBM"}, None, "RBM" + PLUGIN_SUFFIX),
    ("zoo:make", {"name": "factored"}, None, "factored" + PLUGIN_SUFFIX),
    ("zoo:ViT", None, None, "ViT" + PLUGIN_SUFFIX),
])
def test_display_model_name(model, options, attention, name):
    assert display_model_name(model, options, attention) == name


def test_plugin_name_is_the_display_name():
    from suite.bench.plugins import plugin_name

    assert plugin_name(ModelConfig(model="my_model:build")) == "build"
    assert plugin_name(ModelConfig(model="my_model:build", model_options={"name": "Mine"})) == \
        "Mine"
    assert plugin_name(ModelConfig(model="my_model:cnn")) == "cnn (plugin)"


def test_models_sort_vit_then_baselines_then_plugins_alphabetically():
    names = ["zeta", "CNN", "Alpha net", "RBM", "Factored", "cnn (plugin)", "T5", "Decoupled"]
    assert sorted(names, key=model_sort_key) == [
        "T5", "Decoupled", "Factored", "RBM", "CNN", "Alpha net", "cnn (plugin)", "zeta"]


def test_options_key_is_canonical_and_labels_tell_same_names_apart():
    assert options_key({"b": 1, "a": 2}) == options_key({"a": 2, "b": 1}) == '{"a":2,"b":1}'
    assert options_key(None) == options_key(float("nan")) == ""
    rows = [{"model": "cnn", "model_options": {"channels": 16}},
            {"model": "cnn", "model_options": None},  # the defaults: channels 8
            {"model": "cnn", "model_options": {"channels": 8}},
            {"model": "rbm", "alpha": 1}, {"model": "p:f", "model_options": {"name": "F"}}]
    names = ["CNN", "CNN", "CNN", "RBM", "F"]
    assert distinguishing_labels(names, rows) == [
        "CNN (channels=16)", "CNN (channels=8)", "CNN (channels=8)", "RBM", "F"]
    assert distinguishing_labels(["RBM", "RBM"], [{"model": "rbm", "alpha": 1},
                                                  {"model": "rbm", "alpha": 2.0}]) == [
        "RBM (alpha=1)", "RBM (alpha=2)"]


def test_model_details():
    assert model_details({"model": "vit", "layers": 2, "d": 16}) == "2 layer(s) d=16"
    assert model_details({"model": "rbm", "alpha": 2}) == "alpha=2"
    assert model_details({"model": "cnn", "model_options": {"channels": 4}}) == (
        "channels=4 layers=2 kernel=3 marshall_sign=true")
    assert model_details({"model": "p:f", "model_options": {"name": "F", "k": 1}}) == "k=1"
    assert model_details({"model": "p:f", "model_options": None}) == "no options"


def _row(model: str, options: dict | None) -> dict:
    config = RunConfig(model=ModelConfig(model=model, model_options=options)).to_dict()
    record = RunRecord(schema_version=SCHEMA_VERSION, status=STATUS_FAILED, cell_id="x",
                       suite_version="", config=config, failure=Failure(None, "test"))
    return run_row(Path("x.json"), record)


def test_run_rows_carry_the_model_name_and_keep_option_sets_apart():
    assert "model_name" in run_columns() and "model_options" in run_columns()
    narrow, wide = _row("cnn", {"channels": 4}), _row("cnn", {"channels": 8})
    assert narrow["model_name"] == wide["model_name"] == "CNN"
    assert narrow["model_options"] == {"channels": 4}
    # a seed family is one cell's seeds: two option sets are two cells
    assert narrow["seed_family"] != wide["seed_family"]
    plugins = _row("a.b:build", {"width": 2}), _row("a.b:build", {"width": 3})
    assert plugins[0]["seed_family"] != plugins[1]["seed_family"]
    assert [row["model_name"] for row in plugins] == ["build", "build"]
    assert _row("vit", None)["model_name"] == "Factored"
