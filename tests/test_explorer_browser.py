"""The gate explorer page end to end in headless Chromium: the page renders, asks the server, colours the text.

Uses Debian's ``chromium`` in its command-line modes (``--dump-dom`` and
``--screenshot``) with a URL that pre-fills the text and runs on load.
Skipped with a reason where Chromium is not installed.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import urllib.parse
from pathlib import Path

import numpy as np
import pytest
from explain_models import save_char_lm

from lstmkit.explain.explorer import ExplorerServer, traces_info
from lstmkit.tasks.explain import load_explainable


def _chromium() -> str | None:
    if Path("/usr/bin/chromium").is_file():
        return "/usr/bin/chromium"
    return shutil.which("chromium")


CHROMIUM = _chromium()
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="Debian's chromium is not installed (apt-get install chromium)")

FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--virtual-time-budget=5000"]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    ex = load_explainable(save_char_lm(tmp_path_factory.mktemp("browser") / "lm", hidden=8))
    srv = ExplorerServer(ex.trace, traces_info(ex.trace("Hi."), ex.kind, ex.input_kind), port=0)
    srv.start_background()
    srv.explainable = ex
    yield srv
    srv.shutdown()
    srv.server_close()


def _chrome(tmp_path: Path, *args: str) -> subprocess.CompletedProcess:
    profile = tmp_path / "profile"
    profile.mkdir(exist_ok=True)
    return subprocess.run([CHROMIUM, *FLAGS, f"--user-data-dir={profile}", *args], capture_output=True, text=True,
                          timeout=90)


TEXT = 'Bob is nice. Dan, on the other hand, is "evil".'


def _url(server, **params) -> str:
    return server.url + "?" + urllib.parse.urlencode(params)


def test_page_colours_every_character_by_the_chosen_unit(server, tmp_path):
    r = _chrome(tmp_path, "--dump-dom", _url(server, text=TEXT, layer=1, unit=3, gate="f"))
    assert r.returncode == 0, r.stderr[-2000:]
    dom = r.stdout
    assert 'data-state="done"' in dom, dom[-3000:]
    assert f"rendered {len(TEXT)} steps" in dom
    spans = re.findall(r'<span class="tok" data-v="([-0-9.]+)" data-t="(\d+)"[^>]*style="background: rgb\((\d+), '
                       r'(\d+), (\d+)\);?">([^<]*)</span>', dom)
    assert len(spans) == len(TEXT)
    assert "".join(s[5] for s in spans).replace("&quot;", '"') == TEXT
    want = server.explainable.trace(TEXT).values(1, "f")[:, 3]
    np.testing.assert_allclose([float(s[0]) for s in spans], want, atol=1e-3)
    colours = {s[2:5] for s in spans}
    assert len(colours) > 3  # the colours follow the values
    assert dom.count('class="gate-line"') == 6  # i, f, g, o, c, h over time in the SVG


def test_page_reports_a_bad_request(server, tmp_path):
    r = _chrome(tmp_path, "--dump-dom", _url(server, text="x", unit=99))
    assert r.returncode == 0, r.stderr[-2000:]
    assert 'data-state="error"' in r.stdout and "unit in [0, 8)" in r.stdout


def test_screenshot_is_not_blank(server, tmp_path):
    import matplotlib.image as mpimg

    shot = tmp_path / "shot.png"
    r = _chrome(tmp_path, "--window-size=1100,700", f"--screenshot={shot}", _url(server, text=TEXT, unit=2, gate="c"))
    assert r.returncode == 0 and shot.is_file(), r.stderr[-2000:]
    img = mpimg.imread(shot)[..., :3]
    assert img.shape[:2] == (700, 1100)
    assert img.std() > 0.05  # not a blank page
    band = img[200:320]  # where the coloured text sits under the controls
    assert (np.abs(band[..., 0] - band[..., 2]) > 0.15).mean() > 0.002  # some cells coloured (red or blue), not grey
