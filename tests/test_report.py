"""The HTML report of the tiny end-to-end workflow opens in a real browser with its figures.

`snakemake --report report.html` on the completed tiny workflow (tests/test_workflow.py), then
headless Chromium (Debian's package; installed with apt-get when missing and we are root, else
the test is skipped) renders it: the DOM must show the workflow description and the categories,
the dataset category must list its figures by model and figure label, and a screenshot of one
figure must not be blank.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from workflow_fixture import snakemake

pytestmark = pytest.mark.workflow

BROWSERS = ("chromium", "chromium-browser")
BUDGET_MS = 8000


def chromium() -> str:
    """The Chromium executable; installed from Debian's packages when missing and root."""
    for name in BROWSERS:
        if found := shutil.which(name):
            return found
    if os.geteuid() != 0 or not shutil.which("apt-get"):
        pytest.skip("chromium is not installed (apt-get install chromium, as root) and this "
                    "test cannot install it: not root or no apt-get")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    try:
        for args in (["update", "-qq"], ["install", "-y", "-qq", "chromium"]):
            subprocess.run(["apt-get", *args], env=env, capture_output=True, timeout=600,
                           check=True)
    except (subprocess.CalledProcessError, subprocess.TimeoutExpired) as error:
        pytest.skip(f"chromium is missing and apt-get could not install it: {error}")
    found = next(filter(None, map(shutil.which, BROWSERS)), None)
    if found is None:
        pytest.skip("apt-get installed chromium but no chromium executable is on PATH")
    return found


def render(browser: str, page: Path, tmp: Path, *args: str) -> subprocess.CompletedProcess:
    """Run headless Chromium on ``page`` (no network, a throwaway profile)."""
    return subprocess.run(
        [browser, "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
         f"--user-data-dir={tmp / 'profile'}", "--no-first-run", "--hide-scrollbars",
         f"--virtual-time-budget={BUDGET_MS}", *args, page.as_uri()],
        capture_output=True, text=True, timeout=120)


def app_dom(dom: str) -> str:
    """The rendered app (<div id="app"> up to the next script), not the embedded data."""
    start = dom.index('<div id="app">')
    return dom[start:dom.index("<script", start)]


def with_script(report: Path, out: Path, script: str) -> Path:
    """A copy of the report that runs ``script`` once the app has rendered (the report has no
    URL routes, so the test clicks through it this way)."""
    html = report.read_text(encoding="utf-8")
    head, tail = html.rsplit("</body>", 1)
    out.write_text(f"{head}<script>setTimeout(() => {{ {script} }}, 300);</script></body>{tail}",
                   encoding="utf-8")
    return out


@pytest.fixture(scope="module")
def report(completed: Path) -> Path:
    snakemake(completed, "--report", "report.html")
    return completed / "report.html"


@pytest.fixture(scope="module")
def browser() -> str:
    return chromium()


def test_report_lists_every_figure_and_table(report: Path):
    html = report.read_text(encoding="utf-8")
    for model in ("tiny-1", "tiny-2"):
        for dataset in ("languages", "compounds"):
            for figure in ("sparsity", "heatmap"):
                assert f"results/plots/models/{model}/{figure}__{dataset}.png" in html
    for figure in ("best_layer__languages", "features__compounds", "summary"):
        assert f"results/plots/families/ladder/{figure}.png" in html
    for table in ("models/tiny-1/probes", "models/tiny-2/neurons", "scaling/ladder__dynamics"):
        assert f"results/summaries/{table}.parquet" in html


def test_report_opens_in_chromium_with_its_categories(report: Path, browser: str, tmp_path):
    proc = render(browser, report, tmp_path, "--dump-dom")
    assert proc.returncode == 0, proc.stderr[-3000:]
    app = app_dom(proc.stdout)
    assert "Sparse probing of MLP neurons" in app  # report/workflow.rst, rendered
    assert "tiny-1, tiny-2" in app  # ...with the run's config
    for category in ("compounds", "languages", "scaling", "tables"):
        assert f">{category}<" in app, category


def test_dataset_category_lists_figures_by_model(report: Path, browser: str, tmp_path):
    page = with_script(report, tmp_path / "category.html",
                       "app.showCategory('compounds'); app.setView({navbarMode: "
                       "'subcategory', category: 'compounds', subcategory: 'per model'});")
    proc = render(browser, page, tmp_path, "--dump-dom")
    assert proc.returncode == 0, proc.stderr[-3000:]
    app = app_dom(proc.stdout)
    # the "figure" label is a toggle between the two figures, the models are the entries
    for figure in ("F1 against k, by layer", "F1 heat map, features x layers"):
        assert f">{figure}<" in app, figure
    for model in ("tiny-1", "tiny-2"):
        assert f">{model}<" in app, model


def test_a_figure_is_shown_and_not_blank(report: Path, browser: str, tmp_path):
    html = report.read_text(encoding="utf-8")
    entry = html.index('"results/plots/models/tiny-2/heatmap__compounds.png": {')
    uri = re.compile(r'"data_uri": "(data:image/png;[^"]+)"').search(html, entry)
    assert uri, "the heat map is not embedded in the report"
    page = with_script(report, tmp_path / "figure.html",
                       f"app.setView({{content: 'img', contentPath: '{uri.group(1)}'}});")
    shot = tmp_path / "figure.png"
    proc = render(browser, page, tmp_path, f"--screenshot={shot}", "--window-size=1400,900")
    assert proc.returncode == 0 and shot.is_file(), proc.stderr[-3000:]
    import matplotlib.image

    pixels = matplotlib.image.imread(shot)[..., :3]
    assert pixels.shape[:2] == (900, 1400)
    content = pixels[:, 400:]  # right of the menu
    assert content.std() > 0.05  # not a blank page
    # the heat map's cells (viridis colours) fill the content area, not only the menu's icons
    saturated = (content.max(axis=2) - content.min(axis=2)) > 0.3
    assert np.count_nonzero(saturated) > 20_000


def _data_uris(html: str, suffix: str) -> dict[str, str]:
    """Report item path -> its embedded data URI, for the items whose path ends in ``suffix``."""
    found = {}
    for match in re.finditer(r'"(results/[^"]+' + re.escape(suffix) + r')": \{', html):
        uri = re.compile(r'"data_uri": "(data:[^"]+)"').search(html, match.end())
        if uri:
            found[match.group(1)] = uri.group(1)
    return found


def test_a_table_shows_its_rows_in_the_page(report: Path, browser: str, tmp_path):
    """The neuron table is an HTML item of the report (not only a Parquet download): its page,
    as embedded, renders a DataTable whose rows are the table's rows, with no network."""
    import base64

    html = report.read_text(encoding="utf-8")
    pages = _data_uris(html, ".html")
    key = "results/summaries/models/tiny-2/neurons.html"
    assert key in pages, sorted(pages)
    assert "results/summaries/models/tiny-2/neurons.parquet" in html  # still a download
    page = tmp_path / "neurons.html"
    page.write_bytes(base64.b64decode(pages[key].split(",", 1)[1]))
    proc = render(browser, page, tmp_path, "--dump-dom")
    assert proc.returncode == 0, proc.stderr[-3000:]
    body = proc.stdout.split('<table id="itables', 1)[1]
    tbody = body.split("<tbody", 1)[1].split("</tbody>", 1)[0]
    rows = re.findall(r"<tr[^>]*>.*?</tr>", tbody, flags=re.S)
    # 5 binary features of the tiny workflow: 5 rows drawn, each naming its feature
    assert len(rows) == 5, rows[:2]
    for feature in ("en", "fr", "de", "high-school", "credit-card"):
        assert any(f">{feature}<" in row for row in rows), feature


def test_the_widest_figure_keeps_its_text_readable(report: Path, browser: str, tmp_path):
    """Shown in the report at 1400 x 900 px, the widest figure's 8 pt tick labels are at least
    9 CSS px high (the figure is scaled to the content width, so its width in inches decides)."""
    import base64
    import struct

    from sparseprobe.report.plots import layout

    html = report.read_text(encoding="utf-8")
    widths = {}
    for path, uri in _data_uris(html, ".png").items():
        head = base64.b64decode(uri.split(",", 1)[1][:44])
        widths[path] = struct.unpack(">I", head[16:20])[0]  # the PNG's IHDR width
    widest = max(widths, key=widths.get)
    uri = _data_uris(html, ".png")[widest]
    page = with_script(report, tmp_path / "widest.html",
                       f"app.setView({{content: 'img', contentPath: '{uri}'}}); "
                       "setTimeout(() => { const img = [...document.querySelectorAll('#app img')]"
                       ".reduce((a, b) => (b.naturalWidth > a.naturalWidth ? b : a)); "
                       "document.body.setAttribute('data-shown', "
                       "img.getBoundingClientRect().width + ',' + img.naturalWidth); }, 500);")
    proc = render(browser, page, tmp_path, "--dump-dom", "--window-size=1400,900")
    assert proc.returncode == 0, proc.stderr[-3000:]
    shown, natural = map(float, re.search(r'data-shown="([\d.]+),(\d+)"', proc.stdout).groups())
    assert natural == widths[widest]
    tick_px = layout.STYLE["xtick.labelsize"] * layout.DPI / 72 * shown / natural
    assert tick_px >= 9, (widest, natural, shown, tick_px)
