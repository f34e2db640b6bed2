"""Diagnose: upload or pick an MRI, see the prediction and where the network looked."""
import streamlit as st

from model import ImageLoadError
from model.classifier.explanation import UNSURE_BELOW
from model.classifier.heat_maps.methods import HEAT_MAP_METHODS
from model.figures import percent
from model.views.catalog import model_report
from model.views.charts import probability_bars, slice_probabilities
from model.views.diagnosis import NO_TUMOUR_MAP_NOTE, calibration_note, verdict
from model.views.external import sequence_note
from model.views.localisation import map_pointing_note, read_localisation
from model.views.networks import default_behind_note, network_choices
from pages import decoded_scan, follow_app_navigation, sample_or_upload, shared_classifier

follow_app_navigation()

st.title("Brain MRI tumour classifier")
choices = st.cache_resource(network_choices)()
network = choices[0]
if len(choices) > 1:
    labels = [choice.label for choice in choices]
    picked = st.selectbox("Network", labels, key="network",
                          help="Each network was trained on the same images. The line under the title gives its "
                               "figures on scans from other hospitals, which matter more than its Kaggle figures.")
    network = choices[labels.index(picked)]
    behind = default_behind_note(choices)
    if behind:
        st.caption(behind)
classifier = shared_classifier(network.checkpoint)
report = st.cache_resource(model_report)(network.checkpoint)
network_key = str(network.checkpoint)  # every cached answer is keyed by the network that gave it


@st.cache_data(max_entries=64, show_spinner=False)
def answer_first(network: str, key: str, axis: str | None, index: int | None, method: str, _image):
    """The answer, with its map when it can be drawn now; cached per file, slice and map, so that moving
    the opacity slider does not re-run the network."""
    return classifier.answer_first(_image, method)


@st.cache_data(max_entries=64, show_spinner=False)
def with_map(network: str, key: str, axis: str | None, index: int | None, method: str, _image, _answer):
    """The map an answer came without (LayerCAM on a cold server), drawn without classifying again."""
    return classifier.with_map(_image, _answer, method)


@st.cache_data(max_entries=8, show_spinner=False)
def every_slice(network: str, key: str, axis: str, _scan):
    return classifier.predict_proba(_scan.slices(axis))


def choose_slice(scan) -> tuple[str | None, int | None]:
    """Sliders for volumes (axis and slice) and multi-frame files (frame)."""
    if not scan.axes:
        return None, None
    axis = scan.default_axis
    if len(scan.axes) > 1:
        axis = st.radio("Slice direction", scan.axes, index=scan.axes.index(axis), horizontal=True)
    count = scan.slice_count(axis)
    if count == 1:
        return axis, 0
    label = "Frame" if axis == "frame" else f"{axis.capitalize()} slice"
    return axis, st.slider(label, 0, count - 1, scan.default_index(axis))


st.caption(f"{report.provenance}; {network.external_line}.")
st.warning(
    "**Teaching tool, not a diagnosis.** This model has not been validated for clinical use. "
    "Never use it to make decisions about a patient.", icon=":material/school:")

upload = sample_or_upload(
    "Image", "Brain MRI: an image (JPEG, PNG, TIFF…), a DICOM file or a NIfTI volume (.nii, .nii.gz)",
    "Choose an image file to classify. Nothing you upload is stored.", tour_row=True)

try:
    scan = decoded_scan(upload)
    axis, index = choose_slice(scan)
    image = scan.slice(axis, index)
    # the heat-map choice below, read before its widget is drawn so the first pass draws the right map
    method = st.session_state.get("heat_map_method", HEAT_MAP_METHODS[0].name)
    with st.spinner("Looking at the scan…"):
        explanation = answer_first(network_key, upload.key, axis, index, method, image)
except ImageLoadError as err:
    st.error(f"**That file could not be used.** {err}", icon=":material/block:")
    st.stop()

said = verdict(scan, explanation, classifier.classes)
if said.problem:
    st.error(f"**This does not look like a brain MRI:** {said.problem}. The model only knows "
             "brain MRI slices, so it will not name a tumour for this picture.", icon=":material/help:")
    if not st.toggle("Show what the network would say anyway (for teaching)"):
        st.image(explanation.preview_image(), caption=upload.name, width=320)
        st.stop()

names = classifier.display_names
if said.problem:  # shown anyway, for teaching: never in the words of an answer
    st.warning(f"**Refused: this picture is not an answer the model can give.** {said.problem.capitalize()}. "
               f"Only for teaching, the network's output anyway: {said.top} "
               f"({percent(said.top_probability, 1)}), a number with no meaning for such a picture.",
               icon=":material/warning:")
elif explanation.unsure:
    st.subheader("The model is unsure")
    st.markdown(f"No class reaches {UNSURE_BELOW:.0%}: **{said.top}** ({percent(said.top_probability, 1)}) "
                f"and **{said.runner_up}** ({percent(said.runner_up_probability, 1)}) are the closest. "
                "Treat this image as unclassified.")
else:
    st.subheader(f"Prediction: {said.top}")
    st.markdown(f"The network gives **{said.top}** a probability of **{percent(said.top_probability, 1)}**.")

# the sequence estimate only for pictures the guard accepts: on anything else it has nothing to go on
note = None if said.problem else sequence_note(explanation.sequence, report.external,
                                               classifier.sequence_model.report if classifier.sequence_model else None)
if note:
    text, low = note
    (st.warning if low else st.info)(text, icon=":material/warning:" if low else ":material/info:")

left, right = st.columns(2)
with left:
    st.plotly_chart(probability_bars(names, explanation.probabilities), width="stretch")
    st.radio("Heat map", [m.name for m in HEAT_MAP_METHODS], key="heat_map_method", horizontal=True,
             help="Grad-CAM uses the network's last block and changes with the class it explains. LayerCAM "
                  "uses the block before it, on a grid twice as fine, but looks much the same whatever the "
                  "class. The Model card measures how far each can be trusted.")
    opacity = st.slider("Heat-map opacity", 0.0, 1.0, 0.45, 0.05)
with right:
    original, overlay = st.columns(2)
    # the grey picture the network sees, at display size (a 16-bit upload keeps its contrast)
    original.image(explanation.preview_image(), caption="Uploaded image", width="stretch")
    if explanation.crop_map is None:
        with overlay, st.spinner("Drawing the heat map…"):
            explanation = with_map(network_key, upload.key, axis, index, method, image, explanation)
    overlay.image(explanation.overlay(opacity=opacity), caption=f"{method} for “{said.top}”", width="stretch")
    if said.no_tumour:
        overlay.caption(NO_TUMOUR_MAP_NOTE)
    pointing = map_pointing_note(st.cache_resource(read_localisation)(), method)
    if pointing:
        overlay.caption(pointing)

if scan.technical_tags:
    with st.expander("Technical details of the file (patient information is never read out)"):
        st.table({"tag": list(scan.technical_tags), "value": list(scan.technical_tags.values())})
if axis is not None and scan.slice_count(axis) > 1 and st.toggle(f"Classify every {axis} slice"):
    with st.spinner(f"Classifying {scan.slice_count(axis)} slices…"):
        per_slice = every_slice(network_key, upload.key, axis, scan)
    st.plotly_chart(slice_probabilities(names, per_slice, index, axis), width="stretch")
    st.caption("Each line is one class's probability on each slice; the dotted line marks the slice shown above. "
               "Slices near the top or bottom of the head are unlike the training images, so expect noise there.")

with st.expander("How to read this"):
    st.markdown(
        "- **Bars**: the network's probability for each of the four classes; they add up to 100%."
        + calibration_note(classifier.metadata, report.metrics, report.external) + "\n"
        "- **Heat map**: red marks the regions that pushed the network towards its answer. Grad-CAM "
        "computes it from the last convolutional block (a coarse grid), LayerCAM from the block before it "
        "(twice as fine). It shows where the network looked, not where a tumour is; a sensible answer "
        "from the wrong region is a warning sign. Neither map is proof: the Model card measures how far "
        "each can be trusted.\n"
        "- The model only knows these four classes. It has been trained on 2-D slices of the sources named under "
        "the title and can be confidently wrong on scans that look different.")
