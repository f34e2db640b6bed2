"""Load test: five browser sessions upload different MRIs to ONE `streamlit run` at the same time.

    pytest -m browser tests/test_load.py

One headless Chromium with one context (its own cookies, its own Streamlit session)
per user, driven with Playwright's async API so the sessions really overlap:
every session opens the Diagnose page, then all five uploads are dispatched,
then all five results are awaited together.
"""
import asyncio
import re
import time
from contextlib import asynccontextmanager
from pathlib import Path

import pytest
from PIL import Image, ImageOps

from benchmarks.browser_utils import CHROMIUM, CHROMIUM_ARGS, REPO, RESULT_PATTERN, require_chromium

pytestmark = pytest.mark.browser

SESSIONS = 5
WAIT_MS = 90_000  # generous: five Grad-CAMs share two CPU cores with whatever else runs
IMAGES = "[data-testid=stImage] img"


@pytest.fixture
def uploads(tmp_path) -> list[Path]:
    """One distinct image per session: the bundled samples plus mirrored copies when there are too few."""
    samples = sorted((REPO / "assets/samples").glob("*.jpg"))
    assert samples, "assets/samples/*.jpg is empty"
    files = samples[:SESSIONS]
    for i in range(SESSIONS - len(files)):
        mirrored = tmp_path / f"mirrored_{samples[i % len(samples)].name}"
        ImageOps.mirror(Image.open(samples[i % len(samples)])).save(mirrored, quality=95)
        files.append(mirrored)
    return files


async def open_diagnose(browser, url: str, errors: list[str]):
    """A fresh session on the Diagnose page, switched to "Upload your own" and ready for a file."""
    context = await browser.new_context(viewport={"width": 1400, "height": 1000})
    page = await context.new_page()
    page.on("pageerror", lambda exc: errors.append(f"page error: {exc}"))
    await page.goto(url, wait_until="domcontentloaded")
    async with explained(page, "the Diagnose page did not offer an upload"):
        await page.get_by_text("Upload your own").click(timeout=WAIT_MS)
        await page.locator("input[type=file]").wait_for(state="attached", timeout=WAIT_MS)
        await page.get_by_text(re.compile(RESULT_PATTERN)).first.wait_for(state="detached", timeout=WAIT_MS)
    return page


@asynccontextmanager
async def explained(page, what: str):
    """Turn a Playwright timeout into a failure that quotes what the page was showing."""
    from playwright.async_api import TimeoutError as PlaywrightTimeout

    try:
        yield
    except PlaywrightTimeout:
        shown = " ".join((await page.inner_text("body")).split())[-600:]
        raise AssertionError(f"{what} within {WAIT_MS / 1000:.0f} s; the page showed: {shown!r}") from None


async def upload(page, image: Path, session: int) -> float:
    """Dispatch the upload; the file name is made unique so no session is served from the app's cache."""
    await page.locator("input[type=file]").set_input_files(
        {"name": f"session{session}_{image.name}", "mimeType": "image/jpeg", "buffer": image.read_bytes()})
    return time.monotonic()


async def await_result(page, session: int) -> float:
    async with explained(page, f"session {session} got no prediction and heat map"):
        await page.get_by_text(re.compile(RESULT_PATTERN)).first.wait_for(timeout=WAIT_MS)
        await page.locator(IMAGES).nth(1).wait_for(timeout=WAIT_MS)
    return time.monotonic()


async def run_sessions(url: str, images: list[Path]) -> dict:
    from playwright.async_api import async_playwright

    errors: list[str] = []
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            pages = await asyncio.gather(*(open_diagnose(browser, url, errors) for _ in images))
            dispatched = await asyncio.gather(*(upload(p, im, i) for i, (p, im) in enumerate(zip(pages, images))))
            finished = await asyncio.gather(*(await_result(p, i) for i, p in enumerate(pages)))
            return {
                "dispatched": dispatched, "finished": finished, "errors": errors,
                "images": [await p.locator(IMAGES).count() for p in pages],
                "exceptions": [await p.locator("[data-testid=stException]").count() for p in pages],
                "names": [await p.locator(f'[title^="session{i}_"]').count() for i, p in enumerate(pages)],
            }
        finally:
            await browser.close()


def test_five_simultaneous_uploads_all_get_a_result(server, uploads):
    require_chromium()
    assert len({p.read_bytes() for p in uploads}) == SESSIONS, "each session needs a different file"
    outcome = asyncio.run(run_sessions(server, uploads))
    assert outcome["errors"] == []
    assert outcome["exceptions"] == [0] * SESSIONS
    assert all(n >= 2 for n in outcome["images"]), outcome["images"]
    assert all(n >= 1 for n in outcome["names"]), outcome["names"]  # each session shows its own file
    start, dispatched, finished = min(outcome["dispatched"]), outcome["dispatched"], outcome["finished"]
    print(f"\n{SESSIONS} uploads dispatched within {max(dispatched) - start:.2f} s of each other; "
          f"results {min(finished) - start:.2f} to {max(finished) - start:.2f} s after the first upload")
