"""A real `streamlit run` driven by Playwright in Debian's headless Chromium."""
import pytest

from benchmarks.browser_utils import CHROMIUM, CHROMIUM_ARGS, REPO, require_chromium, wait_until_page_ran

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def browser():
    require_chromium()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


def upload_and_wait(server: str, browser, path, heading: str):
    """Open Diagnose in a new page, upload ``path``, wait for ``heading`` and the Grad-CAM caption."""
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    page.goto(server, wait_until="domcontentloaded")
    page.get_by_text("Upload your own").click()
    page.locator("input[type=file]").set_input_files(str(path))
    page.get_by_text(heading).wait_for(timeout=60_000)
    page.get_by_text("Grad-CAM for").first.wait_for(timeout=30_000)
    return page


def test_upload_sample_mri_shows_prediction_and_heatmap(server, browser):
    page = upload_and_wait(server, browser, REPO / "assets/samples/pituitary_1.jpg", "Prediction: Pituitary tumour")
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


def test_dicom_upload_gets_a_prediction_heatmap_and_technical_tags(server, browser, tmp_path):
    from .scan_builders import build_dicom_bytes

    path = tmp_path / "IM0001.dcm"
    path.write_bytes(build_dicom_bytes())
    page = upload_and_wait(server, browser, path, "Prediction: Pituitary tumour")
    assert page.locator("[data-testid=stImage] img").count() >= 2
    assert "Test^Patient" not in page.content()
    page.close()


def test_nifti_upload_gets_a_slice_slider_prediction_and_heatmap(server, browser, tmp_path):
    from .scan_builders import write_nifti

    path = write_nifti(tmp_path / "head.nii.gz")
    page = upload_and_wait(server, browser, path, "Prediction: Pituitary tumour")
    assert page.get_by_text("Axial slice").count() >= 1
    assert page.locator("[data-testid=stSlider]").count() >= 2  # slice and opacity
    page.close()


@pytest.mark.parametrize("path, heading", [("data_evaluation", "The mistakes, by name"),
                                           ("model_card", "Model card")])
def test_a_link_straight_to_a_page_on_a_fresh_server_gets_the_apps_navigation(browser, path, heading):
    """Streamlit reads a `pages/` folder as its legacy page list until `st.navigation` has run once,
    so the first visit to a fresh server (say, a shared link after the hosted app woke up) must still
    get streamlit_app.py's titles and wide layout, not a side bar of file names."""
    from benchmarks.browser_utils import streamlit_server

    with streamlit_server() as (url, _proc):
        page = browser.new_page(viewport={"width": 1400, "height": 900})
        page.goto(f"{url}/{path}", wait_until="domcontentloaded")
        page.get_by_text(heading).first.wait_for(timeout=60_000)
        nav = page.locator("[data-testid=stSidebarNav]")
        nav.get_by_text("Data & evaluation").wait_for(timeout=30_000)
        assert "streamlit app" not in nav.inner_text()
        assert page.url.endswith(path)
        page.close()


#: The tallest each page may be at 1400 × 1000 with its details folded (issue #36: one story per screen).
PAGE_HEIGHT_LIMITS = {"": 4_500, "model_card": 4_500, "model_comparison": 4_500, "data_evaluation": 4_500}


def page_height(page) -> int:
    """The height of the page's content in CSS pixels (Streamlit scrolls its main block, not the window)."""
    return page.evaluate("""() => Math.max(...[...document.querySelectorAll(
        '[data-testid=stMain], [data-testid=stAppViewContainer], [data-testid=stMainBlockContainer]')]
        .map(e => e.scrollHeight), document.documentElement.scrollHeight)""")


@pytest.mark.parametrize("path", list(PAGE_HEIGHT_LIMITS), ids=lambda p: p or "diagnose")
def test_every_page_renders_without_an_exception_within_its_height(server, browser, path):
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    page.goto(f"{server}/{path}", wait_until="domcontentloaded")
    wait_until_page_ran(page, timeout_ms=90_000)
    assert page.locator("[data-testid=stException]").count() == 0
    height = page_height(page)
    print(f"{path or 'diagnose'}: {height} px")  # shown by pytest -s, for the record
    page.close()
    assert 1_000 <= height <= PAGE_HEIGHT_LIMITS[path], f"{path or 'diagnose'} is {height} px tall"
