"""End-to-end test of the dashboard in a real headless browser.

Two dashboard servers run as subprocesses on free ports: one on a copy of the committed results
(``results/runs``, ``results/asv`` and the races of ``results/compare``) plus one corrupt run
record, one on an empty results directory. Every page is opened in Debian's chromium through
Playwright; each test waits for Dash to finish its callbacks, checks that every graph has data and
is drawn, that the warning about the corrupt record is shown, and that the browser console shows
no errors (nor the page an uncaught exception, nor the server a 5xx answer). On every page with
figures, every figure must lie inside its card, in a container exactly as tall as the figure, at
1366 x 768 and after the window is resized (narrower, wider, back), and every axis that shows
tick labels must have a title. The race chart must leave its bars most of the figure and its
ratio texts full-sized and apart; an unknown ``?id=`` must show the "no such run" notice. A click
on a point of the accuracy plot must open that run's page. A full-page screenshot of each page
goes to ``$NQSBENCH_SCREENSHOTS`` (else to pytest's temporary directory; docs/dashboard.md).

The default run keeps a smoke test (the accuracy and regressions pages and the empty directory:
15 s on a two-core VM); the other pages, the unknown ids and the click are marked ``slow`` (the
whole file takes about 40 s there, over the default set's budget of about 30 s per file), which
CI runs after the default set (``pytest -m slow``).

Skipped where the ``playwright`` package or ``/usr/bin/chromium`` is missing (browser downloads
are not possible here; ``.ci/run`` installs Debian's chromium).
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from playwright.sync_api import Browser, ConsoleMessage, Page, Response

sync_api = pytest.importorskip("playwright.sync_api", reason="the playwright package is not installed")

CHROMIUM = Path("/usr/bin/chromium")
if not CHROMIUM.exists():
    pytest.skip(f"{CHROMIUM} is absent (install Debian's chromium to run the browser test)",
                allow_module_level=True)

expect = sync_api.expect

REPO = Path(__file__).resolve().parents[1]
CORRUPT_NAME = "zzzzzzzzzzzz-20260101T000000Z-deadbeef.json"
VIEWPORT = {"width": 1366, "height": 768}
SERVER_START_SECONDS = 60.0
TIMEOUT_MS = 20_000

# true when some trace of the plotly div inside #<id> has a point (x or z non-empty) and the
# figure has been drawn (.main-svg); numpy arrays may arrive as {dtype, bdata} typed-array specs
GRAPH_HAS_DATA_JS = """
(id) => {
    const gd = document.querySelector(`#${id} .js-plotly-plot`);
    if (!gd || !Array.isArray(gd.data) || !gd.querySelector('.main-svg')) return false;
    const size = (v) => {
        if (v == null) return 0;
        if (Array.isArray(v) || ArrayBuffer.isView(v)) return v.length;
        if (typeof v === 'object' && typeof v.bdata === 'string') return v.bdata.length;
        return 0;
    };
    return gd.data.some((trace) => size(trace.x) > 0 || size(trace.z) > 0);
}
"""

GRAPH_SUMMARY_JS = """
(id) => {
    const gd = document.querySelector(`#${id} .js-plotly-plot`);
    if (!gd) return `no .js-plotly-plot inside #${id}`;
    const traces = (gd.data || []).map((t) => `${t.type || 'scatter'} ${JSON.stringify(t.name)}`
        + ` x:${t.x ? (t.x.length ?? 'spec') : 'none'} z:${t.z ? (t.z.length ?? 'spec') : 'none'}`);
    return `main-svg: ${!!gd.querySelector('.main-svg')}; traces: [${traces.join('; ')}]`;
}
"""

# page coordinates of every drawn scatter point of the plotly div inside #<id>, with the
# trace's customdata for that point (to prefer points that carry one of our run ids)
GRAPH_POINTS_JS = """
(id) => {
    const gd = document.querySelector(`#${id} .js-plotly-plot`);
    const out = [];
    gd.querySelectorAll('.scatterlayer .trace').forEach((group, k) => {
        const cd = group.__data__;
        const trace = cd && cd[0] && cd[0].trace;
        group.querySelectorAll('.points path').forEach((path, j) => {
            const box = path.getBoundingClientRect();
            if (box.width === 0 && box.height === 0) return;
            const index = (path.__data__ && path.__data__.i != null) ? path.__data__.i : j;
            const custom = trace && trace.customdata ? trace.customdata[index] : null;
            out.push({
                x: box.left + box.width / 2, y: box.top + box.height / 2,
                trace: trace ? trace.index : k, point: index,
                custom: JSON.stringify(custom === undefined ? null : custom),
            });
        });
    });
    return out;
}
"""

# every figure on the page: its box, its card's box, its container's box and CSS height, and its
# axes (shown or not, tick labels or not, the title the figure gives: Plotly's full layout holds
# a placeholder title); null while a graph is still being drawn (dcc.Graph marks a pending plot
# or resize)
FIGURES_JS = """
() => {
    if (document.querySelector('.dash-graph--pending')) return null;
    const box = (element) => {
        const r = element.getBoundingClientRect();
        return {left: r.left, top: r.top, right: r.right, bottom: r.bottom, height: r.height};
    };
    return Array.from(document.querySelectorAll('.js-plotly-plot')).map((gd) => {
        const graph = gd.closest('[id]');
        const card = gd.closest('.card');
        const svg = gd.querySelector('.main-svg');
        const full = gd._fullLayout || {};
        const given = (key) => {
            const title = (gd.layout[key] || {}).title;
            return (typeof title === 'string' ? title : (title && title.text)) || '';
        };
        const axes = Object.keys(full).filter((key) => /^[xy]axis\\d*$/.test(key)).map((key) => ({
            name: key, id: full[key]._id, visible: full[key].visible !== false,
            ticklabels: full[key].showticklabels !== false, title: given(key),
        }));
        return {
            id: graph ? graph.id : '?', figure: svg ? box(svg) : null, card: card ? box(card) : null,
            container: graph ? box(graph) : null, css_height: graph ? graph.style.height : '',
            axes: axes,
            plot: full._size ? {left: full._size.l, top: full._size.t, width: full._size.w,
                                height: full._size.h} : null,
            width: full.width, height: full.height,
        };
    });
}
"""

# the race chart's geometry: where its cell labels and its ratio texts are drawn
RACE_TEXT_JS = """
(id) => {
    const gd = document.querySelector(`#${id} .js-plotly-plot`);
    const box = (element) => {
        const r = element.getBoundingClientRect();
        return {left: r.left, top: r.top, right: r.right, bottom: r.bottom, width: r.width,
                height: r.height};
    };
    return {
        ratios: Array.from(gd.querySelectorAll('.barlayer .bartext')).map(box),
        cells: Array.from(gd.querySelectorAll('.yaxislayer-above .ytick text, '
                                              + '.xaxislayer-above .xtick text'))
            .filter((t) => t.textContent.length > 8).map(box),  // not the numbers
    };
}
"""

DASH_IDLE_JS = """
() => !!document.querySelector('#react-entry-point')
    && !document.querySelector('._dash-loading')
    && !document.querySelector('[data-dash-is-loading="true"]')
"""


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Server:
    """One ``nqsbench dashboard`` subprocess."""

    name: str
    results: Path
    port: int
    process: subprocess.Popen[bytes]
    log: IO[bytes]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def output(self) -> str:
        self.log.flush()
        self.log.seek(0)
        return self.log.read().decode(errors="replace")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        self.log.close()


def _start_server(name: str, results: Path, log_dir: Path) -> Server:
    port = _free_port()
    log = (log_dir / f"server-{name}.log").open("w+b")
    env = {**os.environ, "JAX_PLATFORMS": "cpu"}
    process = subprocess.Popen(
        [sys.executable, "-m", "suite", "dashboard", "--results", str(results),
         "--port", str(port), "--host", "127.0.0.1"],
        cwd=REPO, env=env, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
    )
    return Server(name, results, port, process, log)


def _wait_until_up(server: Server) -> None:
    """Poll the root URL until it answers 200; fail with the server's output otherwise."""
    deadline = time.monotonic() + SERVER_START_SECONDS
    last = "no answer"
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            pytest.fail(f"the {server.name} dashboard server exited with status "
                        f"{server.process.returncode}:\n{server.output()}")
        try:
            with urllib.request.urlopen(server.url + "/", timeout=2) as answer:
                if answer.status == 200:
                    return
                last = f"HTTP {answer.status}"
        except urllib.error.HTTPError as error:
            last = f"HTTP {error.code}"
        except (urllib.error.URLError, OSError) as error:
            last = repr(error)
        time.sleep(0.2)
    pytest.fail(f"the {server.name} dashboard server did not answer 200 on {server.url}/ within "
                f"{SERVER_START_SECONDS:.0f} s (last: {last}); its output:\n{server.output()}")


def _detail_run_id(runs: Path) -> str:
    """A completed run whose record has attention maps (for the run and attention pages)."""
    for path in sorted(runs.glob("*.json")):
        try:
            record = json.loads(path.read_text())
        except (OSError, ValueError):
            continue
        if isinstance(record, dict) and record.get("status") == "completed" and "attention" in record:
            return path.stem
    pytest.fail(f"no completed run record with attention maps in {runs}")


@pytest.fixture(scope="module")
def servers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Server]]:
    """Both servers, started together: 'data' (committed results + a corrupt record), 'empty'."""
    root = tmp_path_factory.mktemp("dashboard")
    data = root / "results"
    (data / "runs").mkdir(parents=True)
    for path in (REPO / "results" / "runs").glob("*.json"):  # the quick matrix's nine runs
        if json.loads(path.read_text()).get("matrix") == "quick":
            shutil.copy(path, data / "runs" / path.name)
    shutil.copytree(REPO / "results" / "asv", data / "asv")
    (data / "runs" / CORRUPT_NAME).write_text('{"truncated')
    (data / "compare").mkdir()
    shutil.copy(REPO / "tests" / "data" / "race.json", data / "compare" / "race.json")
    for path in (REPO / "results" / "compare").glob("*.json"):  # a realistic race: ~25 cells
        shutil.copy(path, data / "compare" / path.name)
    empty = root / "empty"
    empty.mkdir()
    started: dict[str, Server] = {}
    try:
        started["data"] = _start_server("data", data, root)
        started["empty"] = _start_server("empty", empty, root)
        for server in started.values():
            _wait_until_up(server)
        yield started
    finally:
        for server in started.values():
            server.stop()


@pytest.fixture(scope="module")
def app(servers: dict[str, Server]) -> Server:
    return servers["data"]


@pytest.fixture(scope="module")
def run_ids(app: Server) -> set[str]:
    return {path.stem for path in (app.results / "runs").glob("*.json") if path.name != CORRUPT_NAME}


@pytest.fixture(scope="module")
def detail_id(app: Server) -> str:
    return _detail_run_id(app.results / "runs")


@pytest.fixture(scope="module")
def screenshots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = os.environ.get("NQSBENCH_SCREENSHOTS")
    path = Path(folder) if folder else tmp_path_factory.mktemp("screenshots")
    path.mkdir(parents=True, exist_ok=True)
    return path


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox"])
        yield browser
        browser.close()


@dataclass
class Watched:
    """A page with everything bad the browser reported while it was open."""

    page: Page
    problems: list[str] = field(default_factory=list)

    def assert_clean(self, where: str, server: Server) -> None:
        if not self.problems:
            return
        message = f"{where}: the browser reported errors:\n" + "\n".join(
            problem if len(problem) <= 600 else problem[:600] + " [...]" for problem in self.problems)
        log = server.output()
        if "Traceback" in log:
            first = log[log.index("Traceback"):]
            message += "\n\nthe server's output from its first traceback on:\n" + first[:6000]
        pytest.fail(message)


@pytest.fixture
def watched(browser: Browser) -> Iterator[Watched]:
    context = browser.new_context(viewport=VIEWPORT)
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    watch = Watched(page)

    def on_console(message: ConsoleMessage) -> None:
        if message.type == "error":
            location = message.location
            watch.problems.append(f"console error: {message.text} "
                                  f"({location.get('url', '')}:{location.get('lineNumber', '')})")

    def on_response(response: Response) -> None:
        if response.status >= 500 and response.url.startswith("http://127.0.0.1:"):
            watch.problems.append(f"HTTP {response.status} from {response.request.method} {response.url}")

    page.on("console", on_console)
    page.on("pageerror", lambda error: watch.problems.append(f"uncaught page error: {error}"))
    page.on("response", on_response)
    yield watch
    context.close()


def _open(watch: Watched, url: str) -> Page:
    page = watch.page
    page.goto(url, wait_until="load")
    _wait_idle(page)
    return page


def _wait_idle(page: Page) -> None:
    page.wait_for_function(DASH_IDLE_JS)


def _assert_graph_has_data(page: Page, graph_id: str) -> None:
    page.wait_for_selector(f"#{graph_id} .js-plotly-plot", state="attached")
    try:
        page.wait_for_function(GRAPH_HAS_DATA_JS, arg=graph_id)
    except sync_api.TimeoutError:
        summary = page.evaluate(GRAPH_SUMMARY_JS, graph_id)
        pytest.fail(f"#{graph_id} on {page.url} has no drawn trace with data: {summary}")


def _assert_problems_banner(page: Page) -> None:
    banner = page.locator("#problems-banner")
    expect(banner).to_be_visible()
    expect(banner).to_contain_text(CORRUPT_NAME)


def _figures(page: Page) -> list[dict[str, Any]]:
    """Every figure of the page, boxes and axes (``FIGURES_JS``), once no graph is being drawn
    and two measurements 200 ms apart agree (a resize in flight has landed)."""
    _wait_idle(page)
    before = None
    deadline = time.monotonic() + TIMEOUT_MS / 1000
    while True:
        now = page.wait_for_function(FIGURES_JS).json_value()
        if now == before or time.monotonic() > deadline:
            return now
        before = now
        page.wait_for_timeout(200)


def _outside(inner: dict[str, float], outer: dict[str, float], slack: float = 1.0) -> list[str]:
    """The sides of box ``inner`` that stick out of box ``outer`` (by more than ``slack`` px)."""
    return [f"{side} {inner[side]:.0f} vs {outer[side]:.0f}" for side, sign in
            (("left", -1), ("top", -1), ("right", 1), ("bottom", 1))
            if sign * (inner[side] - outer[side]) > slack]


def _misplaced(drawn: list[dict[str, Any]], where: str) -> list[str]:
    """What is wrong with the figures' boxes: a figure outside its card, or a container whose
    CSS height is not the figure's (then its size depends on a race with the resize handler)."""
    problems = []
    for graph in drawn:
        if graph["figure"] is None or graph["card"] is None:
            problems.append(f"{where}: #{graph['id']}: no drawn figure or no card around it")
            continue
        sticking_out = _outside(graph["figure"], graph["card"])
        if sticking_out:
            problems.append(f"{where}: #{graph['id']} sticks out of its card: "
                            f"{', '.join(sticking_out)} (figure {graph['height']} px tall in a "
                            f"{graph['container']['height']:.0f}-px container)")
        if graph["css_height"] != f"{round(graph['height'])}px":
            problems.append(f"{where}: #{graph['id']}'s container is {graph['css_height']!r} "
                            f"tall, not its figure's {graph['height']} px")
    return problems


# the window sizes every page is measured at after the first: narrower, wider, and back (a
# responsive graph whose container height is not fixed used to collapse on a resize, its figure
# hanging out of the card over the page below)
RESIZES = ({"width": 1000, "height": 700}, {"width": 1600, "height": 900}, VIEWPORT)


def _assert_figures_fit_and_are_titled(page: Page, expected: int) -> list[dict[str, Any]]:
    """Every figure lies inside its card, its container exactly as tall as it, at the first
    window size and after each of ``RESIZES``; every axis that shows tick labels has a title (an
    axis without them, e.g. of an inner panel of a grid, shows no numbers to name), and each
    direction has one; ``expected`` figures on the page."""
    with contextlib.suppress(sync_api.TimeoutError):  # the count below says how many there are
        page.wait_for_function("(n) => document.querySelectorAll('.js-plotly-plot .main-svg')"
                               ".length >= n", arg=expected)
    drawn = _figures(page)
    assert len(drawn) == expected, f"{page.url}: {len(drawn)} figures drawn, not {expected}"
    problems = _misplaced(drawn, "at 1366 x 768")
    for size in RESIZES:  # the last is the first size again: ``drawn`` as the page is now
        page.set_viewport_size(size)
        drawn = _figures(page)
        problems += _misplaced(drawn, f"resized to {size['width']} x {size['height']}")
    for graph in drawn:  # message figures hide their axes
        shown = [axis for axis in graph["axes"] if axis["visible"] and axis["ticklabels"]]
        problems += [f"#{graph['id']} {axis['name']} has no title" for axis in shown
                     if not axis["title"]]
        if any(axis["visible"] for axis in graph["axes"]):
            problems += [f"#{graph['id']}: no {letter} axis with numbers and a title" for letter in "xy"
                         if not any(axis["name"][0] == letter and axis["title"] for axis in shown)]
    assert not problems, f"{page.url}:\n" + "\n".join(problems)
    return drawn


@contextlib.contextmanager
def _screenshot_after(page: Page, folder: Path, name: str) -> Iterator[None]:
    """Run the block's checks, then write the page's screenshot, whether they passed or not."""
    try:
        yield
    finally:
        _screenshot(page, folder, name)


def _screenshot(page: Page, folder: Path, name: str) -> None:
    _wait_idle(page)
    page.screenshot(path=str(folder / name), full_page=True)


def test_accuracy_page(app: Server, watched: Watched, screenshots: Path) -> None:
    page = _open(watched, app.url + "/")
    for graph_id in ("accuracy-params-graph", "accuracy-seconds-graph"):
        _assert_graph_has_data(page, graph_id)
    with _screenshot_after(page, screenshots, "01-accuracy.png"):
        _assert_figures_fit_and_are_titled(page, 2)
    _assert_problems_banner(page)
    watched.assert_clean("/", app)


@pytest.mark.slow
def test_clicking_an_accuracy_point_opens_its_run(app: Server, watched: Watched,
                                                 run_ids: set[str]) -> None:
    page = _open(watched, app.url + "/")
    _assert_graph_has_data(page, "accuracy-params-graph")
    page.locator("#accuracy-params-graph").scroll_into_view_if_needed()
    points: list[dict[str, Any]] = page.evaluate(GRAPH_POINTS_JS, "accuracy-params-graph")
    assert points, "accuracy-params-graph draws no scatter points (.scatterlayer .trace .points path)"
    # points whose customdata names one of our runs first; then the rest, in drawing order
    for point in points:
        point["run"] = next((run for run in run_ids if run in point["custom"]), None)
    points.sort(key=lambda point: point["run"] is None)
    tried = []
    for point in points[:8]:
        page.mouse.move(point["x"], point["y"])
        page.mouse.click(point["x"], point["y"])
        try:
            page.wait_for_function("() => location.pathname === '/run'", timeout=3_000)
        except sync_api.TimeoutError:
            tried.append(f"trace {point['trace']} point {point['point']} customdata {point['custom']}")
            continue
        break
    else:
        pytest.fail("clicking points of accuracy-params-graph never opened /run?id=...; tried:\n"
                    + "\n".join(tried))
    query = page.evaluate("() => new URLSearchParams(location.search).get('id')")
    assert query in run_ids, f"the click opened {page.url}, whose id is none of our runs {sorted(run_ids)}"
    if point["run"] is not None:
        assert query == point["run"], f"clicked the point of run {point['run']} but {page.url} opened"
    _wait_idle(page)
    _assert_graph_has_data(page, "run-training-graph")
    watched.assert_clean(f"/ then click to {page.url}", app)


def test_regressions_page(app: Server, watched: Watched, screenshots: Path) -> None:
    page = _open(watched, app.url + "/regressions")
    _assert_graph_has_data(page, "regressions-graph")
    with _screenshot_after(page, screenshots, "02-regressions.png"):
        (graph,) = _assert_figures_fit_and_are_titled(page, 1)
    heading = page.get_by_role("heading", name="Changes above the threshold").bounding_box()
    assert heading is not None and heading["y"] >= graph["card"]["bottom"] - 1, (
        f"the heading under the figure starts at {heading} inside the card {graph['card']}")
    _assert_problems_banner(page)
    watched.assert_clean("/regressions", app)


@pytest.mark.slow
def test_table_page(app: Server, watched: Watched, screenshots: Path) -> None:
    page = _open(watched, app.url + "/table")
    expect(page.locator("#table-grid .ag-row").first).to_be_visible()
    paper = page.locator("#table-paper")
    expect(paper).to_be_visible()
    assert paper.inner_text().strip(), "#table-paper is empty"
    _assert_problems_banner(page)
    _screenshot(page, screenshots, "03-table.png")
    watched.assert_clean("/table", app)


@pytest.mark.slow
def test_run_page(app: Server, watched: Watched, screenshots: Path, detail_id: str) -> None:
    page = _open(watched, f"{app.url}/run?id={detail_id}")
    _assert_graph_has_data(page, "run-training-graph")
    with _screenshot_after(page, screenshots, "04-run.png"):
        _assert_figures_fit_and_are_titled(page, 1)
    expect(page.locator("#no-such-run")).to_have_count(0)
    _assert_problems_banner(page)
    watched.assert_clean(f"/run?id={detail_id}", app)


@pytest.mark.slow
def test_attention_page(app: Server, watched: Watched, screenshots: Path, detail_id: str) -> None:
    page = _open(watched, f"{app.url}/attention?id={detail_id}")
    for graph_id in ("attention-maps-graph", "attention-summary-graph"):
        _assert_graph_has_data(page, graph_id)
    with _screenshot_after(page, screenshots, "05-attention.png"):
        _assert_figures_fit_and_are_titled(page, 2)
    labels = page.locator("#attention-maps-graph .xtick text, #attention-maps-graph .ytick text")
    assert labels.count() > 0, "the heatmaps have no tick labels"
    _assert_problems_banner(page)
    watched.assert_clean(f"/attention?id={detail_id}", app)


@pytest.mark.slow
def test_performance_page(app: Server, watched: Watched, screenshots: Path) -> None:
    page = _open(watched, app.url + "/performance")
    _assert_graph_has_data(page, "performance-race-graph")
    with _screenshot_after(page, screenshots, "07-performance.png"):
        drawn = _assert_figures_fit_and_are_titled(page, 2 + len(_target_race_cells(app.results)))
    race = next(graph for graph in drawn if graph["id"] == "performance-race-graph")
    _assert_race_is_readable(page, race)
    _assert_problems_banner(page)
    watched.assert_clean("/performance", app)


def _target_race_cells(results: Path) -> set[tuple]:
    """(cell, device, engines and settings raced) of the time-to-target races in ``results``:
    the page draws one figure for each, beside the step-time race and the scaling plot."""
    cells = set()
    for path in (results / "compare").glob("*.json"):
        record = json.loads(path.read_text())
        if record.get("kind") == "time-to-target-race":
            raced = tuple((entry["engine"], entry["setting"]) for entry in record["engines"])
            cells.add((record["cell_id"], record["environment"]["device"], raced))
    return cells


def _assert_race_is_readable(page: Page, race: dict[str, Any]) -> None:
    """Bars get most of the figure, cell labels at most a third of its width, every ratio text
    its full size and a place of its own (the cells used to be rotated labels 250 px tall over
    a 90-px plot, the ratios shrunk to specks)."""
    texts = page.evaluate(RACE_TEXT_JS, "performance-race-graph")
    ratios, cells = texts["ratios"], texts["cells"]
    assert len(ratios) >= 20, f"{len(ratios)} ratio texts: the fixture's ~25 races are missing"
    plot, width, height = race["plot"], race["width"], race["height"]
    assert plot["height"] >= 0.5 * height, f"bars get {plot['height']:.0f} of {height} px in height"
    assert plot["width"] >= 0.5 * width, f"bars get {plot['width']:.0f} of {width} px in width"
    widest = max(cell["width"] for cell in cells)
    assert widest <= width / 3, f"a cell label is {widest:.0f} px wide in a {width}-px figure"
    assert all(cell["height"] <= 20 for cell in cells), "cell labels are rotated"
    small = [ratio for ratio in ratios if ratio["height"] < 10]
    assert not small, f"{len(small)} of {len(ratios)} ratio texts are under 10 px tall: {small[:3]}"
    boxes = sorted(ratios, key=lambda ratio: (ratio["top"], ratio["left"]))
    overlapping = [(a, b) for a, b in zip(boxes, boxes[1:], strict=False)
                   if a["bottom"] > b["top"] + 1 and a["right"] > b["left"] and b["right"] > a["left"]]
    assert not overlapping, f"ratio texts overlap: {overlapping[:2]}"


@pytest.mark.slow
@pytest.mark.parametrize(("path", "name", "graphs"), [
    ("/run", "08-unknown-run.png", ("run-training-graph",)),
    ("/attention", "09-unknown-attention.png", ("attention-maps-graph", "attention-summary-graph")),
])
def test_an_unknown_run_id_says_so(app: Server, watched: Watched, screenshots: Path, path: str,
                                   name: str, graphs: tuple[str, ...]) -> None:
    page = _open(watched, f"{app.url}{path}?id=no-such-run-0000")
    notice = page.locator("#no-such-run")
    expect(notice).to_be_visible()
    expect(notice).to_contain_text("no-such-run-0000")
    expect(notice).to_contain_text("No such run")
    for graph_id in graphs:  # drawn, and a message: nothing is shown as if it were that run
        page.wait_for_selector(f"#{graph_id} .js-plotly-plot .main-svg", state="attached")
        expect(page.locator(f"#{graph_id} .annotation-text")).to_contain_text("Choose a run")
    _screenshot(page, screenshots, name)
    drawn = _figures(page)
    assert sorted(graph["id"] for graph in drawn) == sorted(graphs)
    for graph in drawn:
        assert not any(axis["visible"] for axis in graph["axes"]), f"#{graph['id']} shows data"
    assert not _misplaced(drawn, path)
    watched.assert_clean(f"{path}?id=no-such-run-0000", app)


def test_empty_results_page(servers: dict[str, Server], watched: Watched, screenshots: Path) -> None:
    page = _open(watched, servers["empty"].url + "/")
    empty = page.locator("#empty-results")
    expect(empty).to_be_visible()
    expect(empty).to_contain_text("nqsbench run")
    _screenshot(page, screenshots, "06-empty.png")
    watched.assert_clean("/ on an empty results directory", servers["empty"])
