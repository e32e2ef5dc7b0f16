"""End-to-end test of the dashboard in a real headless browser.

Two dashboard servers run as subprocesses on free ports: one on a copy of the committed results
(``results/runs`` and ``results/asv``) plus one corrupt run record, one on an empty results
directory. Every page is opened in Debian's chromium through Playwright; each test waits for Dash
to finish its callbacks, checks that every graph has data and is drawn, that the warning about
the corrupt record is shown, and that the browser console shows no errors (nor the page an
uncaught exception, nor the server a 5xx answer). A click on a point of the accuracy plot must
open that run's page. A full-page screenshot of each page goes to ``$NQSBENCH_SCREENSHOTS``
(else to pytest's temporary directory).

The default run keeps a smoke test (the accuracy and regressions pages and the empty directory:
8 to 10 s on a two-core VM); the other pages and the click are marked ``slow`` (the whole file
takes 26 to 34 s there, over the default set's budget of about 30 s per file), which CI runs after
the default set (``pytest -m slow``).

Skipped where the ``playwright`` package or ``/usr/bin/chromium`` is missing (browser downloads
are not possible here; ``.ci/run`` installs Debian's chromium).
"""

from __future__ import annotations

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


def _screenshot(page: Page, folder: Path, name: str) -> None:
    _wait_idle(page)
    page.screenshot(path=str(folder / name), full_page=True)


def test_accuracy_page(app: Server, watched: Watched, screenshots: Path) -> None:
    page = _open(watched, app.url + "/")
    for graph_id in ("accuracy-params-graph", "accuracy-seconds-graph"):
        _assert_graph_has_data(page, graph_id)
    _assert_problems_banner(page)
    _screenshot(page, screenshots, "01-accuracy.png")
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
    _assert_problems_banner(page)
    _screenshot(page, screenshots, "02-regressions.png")
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
    _assert_problems_banner(page)
    _screenshot(page, screenshots, "04-run.png")
    watched.assert_clean(f"/run?id={detail_id}", app)


@pytest.mark.slow
def test_attention_page(app: Server, watched: Watched, screenshots: Path, detail_id: str) -> None:
    page = _open(watched, f"{app.url}/attention?id={detail_id}")
    for graph_id in ("attention-maps-graph", "attention-summary-graph"):
        _assert_graph_has_data(page, graph_id)
    _assert_problems_banner(page)
    _screenshot(page, screenshots, "05-attention.png")
    watched.assert_clean(f"/attention?id={detail_id}", app)


@pytest.mark.slow
def test_performance_page(app: Server, watched: Watched, screenshots: Path) -> None:
    page = _open(watched, app.url + "/performance")
    _assert_graph_has_data(page, "performance-race-graph")
    _assert_problems_banner(page)
    _screenshot(page, screenshots, "07-performance.png")
    watched.assert_clean("/performance", app)


def test_empty_results_page(servers: dict[str, Server], watched: Watched, screenshots: Path) -> None:
    page = _open(watched, servers["empty"].url + "/")
    empty = page.locator("#empty-results")
    expect(empty).to_be_visible()
    expect(empty).to_contain_text("nqsbench run")
    _screenshot(page, screenshots, "06-empty.png")
    watched.assert_clean("/ on an empty results directory", servers["empty"])
