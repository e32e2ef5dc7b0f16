"""An asv environment plugin: the interpreter asv runs in, under a name without its path.

asv's own ``existing`` environment (``--python=same``, ``-E existing:same``,
``-E existing:python``) is named after the interpreter's absolute path, e.g.
``existing-py_home_ana_nqsbench_.venv_bin_python``: the results file of every user lands under a
different name, with a local path in it. ``asv.conf.json`` loads this module
(``"plugins": [".benchmarks.asv_environment"]``, imported from the repository root), which adds
the environment type ``installed``:

    asv run -E installed:same --set-commit-hash "$(git rev-parse HEAD)"

It behaves exactly like ``existing`` (no build, no install: the code installed in that
interpreter is measured) and is named ``installed-py<major>.<minor>`` (``installed-py3.11``), so
every machine's results go to ``<machine>/<commit>-installed-py3.11.json``; its results record
the Python version (``"python": "3.11"``, as a commit range's do) where ``existing`` records the
interpreter's path.
:func:`suite.report.asv_results.load_asv_results` puts them in one series with the commit-range
runs (``virtualenv-py3.11``) of the same machine and Python version.

asv also imports this module while it discovers the benchmarks, in environments that may not
have asv itself (commit-range virtualenvs of old commits have only ``asv_runner``): there it
defines nothing. The names start with ``_`` so that discovery does not look into them.
"""

from __future__ import annotations

TOOL_NAME = "installed"

try:
    from asv import environment as _asv_environment
    from asv import util as _asv_util
except ImportError:  # a benchmark environment without asv: nothing to register
    _asv_environment = _asv_util = None

if _asv_environment is not None:

    class _InstalledEnvironment(_asv_environment.ExistingEnvironment):
        """asv's ``existing`` environment, named by its Python version instead of its path."""

        tool_name = TOOL_NAME

        def __init__(self, conf, python, requirements, tagged_env_vars):
            super().__init__(conf, python, requirements, tagged_env_vars)
            # asv's existing environment works the version out and then overwrites it with the
            # interpreter's path, which its results then record as "python"; keep the version
            self._python = _asv_util.check_output(
                [self._executable, "-c", "import sys; print('%d.%d' % sys.version_info[:2])"]
            ).strip()

        @property
        def name(self) -> str:
            """``installed-py3.11``: the same for every path of a Python 3.11 interpreter."""
            return _asv_environment.get_env_name(self.tool_name, self._python, {},
                                                 self._tagged_env_vars)
