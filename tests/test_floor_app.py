"""benchmarks/floor_app.py, the floor under app_startup.py's figures, shows what that benchmark waits for."""
import re

from streamlit.testing.v1 import AppTest

from benchmarks.browser_utils import RESULT_PATTERN
from model import DISPLAY_NAMES
from model.views.catalog import bundled_samples


def test_floor_app_shows_the_diagnose_pages_first_text():
    at = AppTest.from_file("../benchmarks/floor_app.py").run()
    assert not at.exception
    assert re.match(RESULT_PATTERN, at.subheader[0].value)
    assert not at.image


def test_floor_app_captions_an_upload_as_the_diagnose_page_would():
    at = AppTest.from_file("../benchmarks/floor_app.py").run()
    at.radio[0].set_value("Upload your own").run()
    sample = bundled_samples()[0]
    at.file_uploader[0].upload(sample.path.name, sample.path.read_bytes(), "image/jpeg").run()
    assert not at.exception
    caption = f"Grad-CAM for “{DISPLAY_NAMES[sample.label]}”"
    assert [img.caption for image in at.image for img in image.proto.imgs] == [caption]
