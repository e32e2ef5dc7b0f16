"""The NetKet adapter accepts exactly the versions it is tested with, as pyproject pins them."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from suite.perf.netket import TESTED_NETKET, PeerUnavailableError, check_netket_version

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib


@pytest.mark.parametrize("version", ["3.23", "3.23.0", "3.23.1", "3.23.0.post1", "3.23rc1"])
def test_tested_versions_pass(version):
    check_netket_version(version)


@pytest.mark.parametrize("version", ["3.22.9", "3.24.0", "4.0", "2.1"])
def test_other_versions_are_refused_with_the_range_and_the_fix(version):
    with pytest.raises(PeerUnavailableError) as error:
        check_netket_version(version)
    assert str(error.value) == (f"NetKet {version} is outside the tested range >=3.23,<3.24: "
                                "pip install -e '.[peers]' installs a tested version")


def test_the_peers_extra_pins_the_tested_range():
    pyproject = tomllib.loads(Path(__file__).resolve().parents[1].joinpath(
        "pyproject.toml").read_text())
    [requirement] = pyproject["project"]["optional-dependencies"]["peers"]
    low, high = TESTED_NETKET
    assert re.sub(r"\s", "", requirement) == f"netket>={low[0]}.{low[1]},<{high[0]}.{high[1]}"
