"""A real `streamlit run` driven by Playwright in Debian's headless Chromium."""
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic"]

pytestmark = pytest.mark.browser


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server():
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", "streamlit_app.py", "--server.port", str(port),
         "--server.address", "127.0.0.1", "--server.headless", "true", "--browser.gatherUsageStats", "false"],
        cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 90
    while True:
        try:
            if urllib.request.urlopen(f"{url}/_stcore/health", timeout=2).read() == b"ok":
                break
        except OSError:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            pytest.fail("streamlit did not start")
        time.sleep(0.5)
    yield url
    proc.terminate()
    proc.wait(timeout=20)


@pytest.fixture(scope="module")
def browser():
    assert shutil.which(CHROMIUM), f"{CHROMIUM} is missing: install Debian's chromium (see README)"
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


def test_upload_sample_mri_shows_prediction_and_heatmap(server, browser):
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    page.goto(server, wait_until="domcontentloaded")
    page.get_by_text("Upload your own").click()
    page.locator("input[type=file]").set_input_files(str(REPO / "assets/samples/pituitary_1.jpg"))
    page.get_by_text("Prediction: Pituitary tumour").wait_for(timeout=60_000)
    page.get_by_text("Grad-CAM for").first.wait_for(timeout=30_000)
    images = page.locator("[data-testid=stImage] img")
    assert images.count() >= 2
    page.close()


def test_corrupt_upload_shows_an_error_and_page_keeps_serving(server, browser, tmp_path):
    page = browser.new_page()
    page.goto(server, wait_until="domcontentloaded")
    page.get_by_text("Upload your own").click()
    bad = tmp_path / "broken.png"
    bad.write_bytes(b"\x89PNG\r\n\x1a\n broken")
    page.locator("input[type=file]").set_input_files(str(bad))
    page.get_by_text("could not be used").wait_for(timeout=60_000)
    page.locator("input[type=file]").set_input_files(str(REPO / "assets/samples/notumor_1.jpg"))
    page.get_by_text("Prediction: No tumour").wait_for(timeout=60_000)
    page.close()
