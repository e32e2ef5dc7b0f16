"""The Dash app: a header with the page links and the plot-export format, then the page.

Pages live in ``dashboard/pages/``; each module owns its layout and callbacks and is registered
here, so the app works the same when installed as a package as from a checkout. Each app keeps
its results directory in its own Flask config and registers the pages' callbacks on itself, so
several apps in one process (tests, or two directories side by side) share no state.
"""

from __future__ import annotations

from pathlib import Path

import dash
from dash import Dash, dcc, html

from dashboard import components
from dashboard.pages import accuracy, attention, performance, regressions, run, slmc, table
from suite.version import __version__

PAGES = (
    # (module, path, name shown in the header)
    (accuracy, "/", "Accuracy vs cost"),
    (regressions, "/regressions", "Regressions"),
    (table, "/table", "Results table"),
    (run, "/run", "Run detail"),
    (attention, "/attention", "Attention maps"),
    (performance, "/performance", "Performance"),
    (slmc, "/slmc", "SLMC acceptance"),
)


def create_app(results_dir: str | Path = "results") -> Dash:
    """Build the dashboard for ``results_dir`` (its ``runs/`` and ``asv/`` subdirectories).

    Args:
        results_dir: a results directory as ``nqsbench run`` writes it; it may be empty or
            missing, in which case the pages say how to produce results.

    Returns:
        The Dash app; ``app.run(host=..., port=...)`` serves it.
    """
    app = Dash(__name__, use_pages=True, pages_folder="", title="nqsbench",
               suppress_callback_exceptions=True)
    app.server.config[components.RESULTS_CONFIG] = Path(results_dir)
    for order, (module, path, name) in enumerate(PAGES):
        dash.register_page(module.__name__, path=path, name=name, order=order,
                           title=f"nqsbench · {name}", layout=module.layout)
        module.register_callbacks(app)
    app.layout = _shell
    return app


def _shell() -> html.Div:
    data = components.current_data()
    links = [dcc.Link(name, href=path, className="nav-link") for _, path, name in PAGES]
    return html.Div(className="app", children=[
        dcc.Location(id=components.NAV_LOCATION_ID, refresh="callback-nav"),
        html.Header(className="header", children=[
            html.Span("nqsbench", className="brand"),
            html.Nav(links, className="nav"),
            html.Label(className="export", children=[
                "Save plots as ",
                dcc.RadioItems(id=components.EXPORT_FORMAT_ID, value="png", inline=True,
                               options=[{"label": f.upper(), "value": f}
                                        for f in components.EXPORT_FORMATS],
                               persistence=True, persistence_type="local"),
            ]),
        ]),
        components.problems_banner(data),
        html.Main(dash.page_container, className="page"),
        html.Footer(className="footer", children=[
            f"nqsbench {__version__} · results from ",
            html.Code(str(data.results_dir.resolve())),
            f" · {len(data.runs)} run record(s), {data.asv['commit'].nunique()} asv commit(s)",
        ]),
    ])
