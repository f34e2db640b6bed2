"""Widgets that more than one page uses (layout only: the logic lives in ``model``).

This file is never a page itself: ``st.navigation`` lists the pages by path in
``streamlit_app.py``, and Streamlit's legacy page list skips ``__init__.py``.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import streamlit as st

from model.paths import DEFAULT_CHECKPOINT
from model.views.catalog import bundled_samples
from model.views.tour import guided_tour, sample_choices


@dataclass(frozen=True)
class Upload:
    """The file a visitor chose: its name, its bytes, and a short key that stands for both
    (Streamlit's id of the uploaded file, or the sample's path), so that caches never hash the bytes."""

    name: str
    data: bytes
    key: str


@st.cache_resource(max_entries=4, show_spinner=False)
def _decoded_scan(key: str, name: str, _data: bytes):
    from model import load_scan  # the readers load with the first upload, not with the page

    return load_scan(_data, name)


def decoded_scan(upload: Upload):
    """The upload decoded once (per file, whatever the reruns, sliders and pages), shared read-only.

    Raises:
        ImageLoadError: the file cannot be read (not cached: a fixed file is tried afresh).
    """
    return _decoded_scan(upload.key, upload.name, upload.data)


@st.cache_resource(show_spinner=False)
def _classifier(path: str):
    from model import load_app_classifier

    return load_app_classifier(path)


def shared_classifier(path: str | Path | None = None):
    """One classifier per checkpoint file for the whole server, whichever page asks and however it
    names the file (no path is the bundled ResNet50)."""
    return _classifier(str(Path(path or DEFAULT_CHECKPOINT).resolve()))


def follow_app_navigation() -> None:
    """Hand a page that Streamlit ran on its own over to ``streamlit_app.py``'s navigation.

    Until ``st.navigation`` has run once, a fresh server treats the ``pages/``
    folder as Streamlit's legacy page list. The first visit through a link
    straight to a page (say, to the hosted app after it woke up) then ran this
    file alone: no wide layout, and a side bar of file names. One rerun with the
    legacy list switched off runs ``streamlit_app.py``, which shows the same page.
    """
    try:
        from streamlit.runtime.pages_manager import PagesManager
    except ImportError:  # a Streamlit without the legacy page list
        return
    if getattr(PagesManager, "uses_pages_directory", False):
        PagesManager.uses_pages_directory = False  # what st.navigation itself does on its first run
        st.rerun()


#: Where the picture a page classifies comes from.
SOURCES = ("Sample MRI", "Upload your own")


def _tour_row(tour: list, choices: dict) -> None:
    """The "try these" row: each tour stop's thumbnail and a button that puts it in the sample picker."""
    labels = {choice.sample.path.resolve(): label for label, choice in choices.items()}

    def pick(label: str) -> None:  # runs before the widgets are drawn, so they show the stop
        st.session_state["source"], st.session_state["sample"] = SOURCES[0], label

    st.markdown("**Try these**: where the networks do well, and where they fail.")
    for column, stop in zip(st.columns(len(tour)), tour):
        column.image(str(stop.sample.path), width=110)
        column.button(stop.title, key=f"tour:{stop.sample.path.name}", on_click=pick,
                      args=(labels[stop.sample.path.resolve()],), width="stretch")


def sample_or_upload(radio_label: str, upload_label: str, prompt: str, tour_row: bool = False) -> Upload:
    """A bundled sample MRI, one of the guided tour's pictures (:func:`model.views.tour.guided_tour`;
    with ``tour_row``, shown first as a "try these" row) or the user's own file.

    Stops the page run (after showing ``prompt``) while the upload box is empty.
    """
    tour = guided_tour()
    choices = sample_choices(bundled_samples(), tour)
    if tour_row and tour:
        _tour_row(tour, choices)
    source = st.radio(radio_label, SOURCES, horizontal=True, label_visibility="collapsed", key="source")
    if source == SOURCES[0]:
        choice = choices[st.selectbox("Sample MRI (Kaggle Testing, and the tour's scans from elsewhere)",
                                      list(choices), key="sample")]
        if choice.look_for:
            st.info(f"**What to look for.** {choice.look_for}", icon=":material/tour:")
        sample = choice.sample
        return Upload(sample.path.name, sample.path.read_bytes(), f"sample:{sample.path}")
    # No type filter: DICOM files often have no extension; the loader names what it cannot read.
    upload = st.file_uploader(upload_label)
    if upload is None:
        st.info(prompt)
        st.stop()
    return Upload(upload.name, upload.getvalue(), f"upload:{upload.file_id}")
