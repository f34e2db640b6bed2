"""Start a real `streamlit run` and launch Debian's headless Chromium.

Used by benchmarks/app_startup.py and by the browser tests (tests/test_browser.py, tests/test_load.py,
tests/conftest.py's ``server``, tests/test_floor_app.py), which import it as ``benchmarks.browser_utils``.
It lives here, not in tests/, because a benchmark imports nothing from the tests.
"""
from __future__ import annotations

import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic"]
#: Text the Diagnose page shows once an image has been classified.
RESULT_PATTERN = r"Prediction:|The model is unsure"


class ServerDidNotStart(RuntimeError):
    pass


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def launch_streamlit(port: int, script: str = "streamlit_app.py") -> subprocess.Popen:
    """`streamlit run <script>` (a path from the repository root) on 127.0.0.1:port, headless, output discarded."""
    return subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", script, "--server.port", str(port),
         "--server.address", "127.0.0.1", "--server.headless", "true", "--browser.gatherUsageStats", "false"],
        cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def wait_healthy(url: str, proc: subprocess.Popen, timeout: float = 90, poll: float = 0.5) -> None:
    """Return once ``url/_stcore/health`` answers ``ok``; raise if the process dies or time runs out."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            if urllib.request.urlopen(f"{url}/_stcore/health", timeout=2).read() == b"ok":
                return
        except OSError:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            raise ServerDidNotStart("streamlit did not start")
        time.sleep(poll)


def stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.terminate()
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


@contextmanager
def streamlit_server(timeout: float = 90) -> Iterator[tuple[str, subprocess.Popen]]:
    """Yield ``(url, process)`` of a healthy server; always stops it afterwards."""
    port = free_port()
    proc = launch_streamlit(port)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_healthy(url, proc, timeout)
        yield url, proc
    finally:
        stop(proc)


def require_chromium() -> str:
    assert shutil.which(CHROMIUM), f"{CHROMIUM} is missing: install Debian's chromium (see README)"
    return CHROMIUM


def wait_until_page_ran(page, timeout_ms: int = 180_000) -> None:
    """Wait for a Streamlit page to have run to its end: its title is drawn and Streamlit's status widget
    (shown while a script runs) has gone; then a second for charts and images to take their final size."""
    page.locator("h1").first.wait_for(timeout=timeout_ms)
    page.wait_for_function("() => !document.querySelector('[data-testid=stStatusWidget]')", timeout=timeout_ms)
    page.wait_for_timeout(1_000)
