"""The smallest Streamlit app that does what `app_startup.py` times: the floor under the app's figures.

    streamlit run benchmarks/floor_app.py

It shows the same first text as the Diagnose page ("Prediction: …") with no model behind it, and shows
an uploaded picture with the caption the Diagnose page gives it, so that `app_startup.py` can time its
cold start and its uploads exactly as it times the app's, on the same machine in the same run. What the
app takes beyond these figures is ours; these figures themselves are Streamlit's and the browser's.
"""
import streamlit as st

st.title("Floor")
st.subheader("Prediction: none (no model in this app)")
if st.radio("Image", ["Sample MRI", "Upload your own"], horizontal=True) == "Upload your own":
    upload = st.file_uploader("Image")
    if upload is not None:
        from model import DISPLAY_NAMES  # (`streamlit run` from the repository root finds the package)
        from model.views.catalog import bundled_samples

        # the caption app_startup.warm_uploads waits for: the bundled sample's class
        sample = {s.path.name: s for s in bundled_samples()}.get(upload.name)
        name = DISPLAY_NAMES[sample.label] if sample else upload.name
        st.image(upload.getvalue(), caption=f"Grad-CAM for “{name}”", width=320)
