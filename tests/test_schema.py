"""The one schema: stable cell ids, settings that validate themselves, CLI flags = matrix keys."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from suite.bench.config import RunConfig
from suite.bench.matrix import BUILTIN_MATRICES, config_hash, load_matrix

DATA = Path(__file__).parent / "data"
ROOT = Path(__file__).parent.parent
GOLDEN = json.loads((DATA / "cell_ids.json").read_text())


@pytest.mark.parametrize("name", BUILTIN_MATRICES)
def test_builtin_cell_ids_never_change(name):
    assert [cell.id for cell in load_matrix(name).cells] == GOLDEN["cell_ids"][name]


def test_resolved_configurations_serialise_byte_identically():
    import hashlib

    full = {name: [json.dumps(cell.config.to_dict()) for cell in load_matrix(name).cells]
            for name in BUILTIN_MATRICES}
    assert hashlib.sha256(json.dumps(full).encode()).hexdigest() == GOLDEN["to_dict_digest"]
    assert json.dumps(RunConfig().to_dict()) == GOLDEN["default_to_dict"]


@pytest.mark.parametrize("path", sorted((ROOT / "results" / "runs").glob("*.json")),
                         ids=lambda path: path.name)
def test_recorded_configurations_round_trip_and_keep_their_hash(path):
    record = json.loads(path.read_text())
    config = RunConfig.from_dict(record["config"])
    again = config.to_dict()
    if "dtype" not in record["config"]["sampler"]:  # older records predate the sampler dtype
        assert again["sampler"].pop("dtype") is None
    assert again == record["config"]
    assert config_hash(config) == record["config_hash"]
