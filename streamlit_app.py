"""Entry point: `streamlit run streamlit_app.py`. Navigation lives here, and the server's start-up.

Each browser session runs this file as its script (``__name__ == "__main__"``): the navigation. Where
Streamlit has ``st.App`` (1.67 on), `streamlit run` first finds the ``app`` below and imports this file
to serve it; the start-up then opens the bundled classifier while the server waits for its first
browser, so the Diagnose page's first answer does not wait for it (~0.6 s; docs/speed.md). An older
Streamlit runs the navigation alone.
"""
from contextlib import asynccontextmanager
from pathlib import Path

import streamlit as st

if __name__ == "__main__":
    st.set_page_config(page_title="Brain MRI tumour classifier", page_icon=":material/neurology:", layout="wide")
    navigation = st.navigation([
        st.Page("pages/diagnose.py", title="Diagnose", icon=":material/neurology:", default=True),
        st.Page("pages/model_card.py", title="Model card", icon=":material/analytics:"),
        st.Page("pages/model_comparison.py", title="Model comparison", icon=":material/compare:"),
        st.Page("pages/data_evaluation.py", title="Data & evaluation", icon=":material/fact_check:"),
    ])
    navigation.run()
else:
    @asynccontextmanager
    async def open_classifier_early(_app):
        from model.classifier.app_classifier import start_opening

        start_opening()  # on a thread: the server answers its health check meanwhile
        yield

    app = st.App(Path(__file__).name, lifespan=open_classifier_early)
