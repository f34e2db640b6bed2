"""Model comparison: which network still works on scans from elsewhere, then several backbones trained and
tested the same way on Kaggle (folded), and all bundled models live."""
import streamlit as st

from model import ImageLoadError, bundled_checkpoints
from model.classifier.preprocess import GreySlice
from model.comparison.results import ComparisonFileError, load_comparison
from model.figures import percent
from model.names import ARCH_NAMES
from model.paths import comparison_dir
from model.views.catalog import model_report
from model.views.charts import probability_bars
from model.views.comparison_charts import (accuracy_vs_latency, confusion_matrices, cost_rows, elsewhere_by_sequence,
                                           headline_bars, protocol_warnings, recall_heatmap, roc_curves, summary_rows,
                                           training_curves)
from model.views.comparison_external import (elsewhere_caption, network_rows, networks, not_measured_note,
                                             sets_caption, takeaway)
from model.views.comparison_notes import bundle_note, versions_note
from model.views.diagnosis import verdict
from pages import decoded_scan, follow_app_navigation, sample_or_upload, shared_classifier

follow_app_navigation()

#: The folded Kaggle details, one tab each.
TABS = ["Figures", "Accuracy and macro F1", "Speed and size", "Per class", "Mistakes", "ROC curves", "Training"]


@st.cache_data(max_entries=32, show_spinner=False)
def explain(checkpoint: str, key: str, _image, _prepared):
    """Cached per model and file; the image and its grey pixels (shared by every model) are not hashed."""
    return shared_classifier(checkpoint).explain(_image, prepared=_prepared)


def kaggle_details(results) -> None:
    """The comparison under one protocol on Kaggle Testing, a tab per view."""
    figures, accuracy, speed, per_class, mistakes, roc, training = st.tabs(TABS)
    with figures:
        st.table(summary_rows(results))
        st.caption(f"Tested on {results[0].n_images:,} images of the Kaggle Testing split. Intervals are bootstrap "
                   "95% ranges: where two models' ranges overlap, the test set cannot tell them apart.")
        for note in protocol_warnings(results):
            st.warning(note, icon=":material/warning:")
    with accuracy:
        st.plotly_chart(headline_bars(results), width="stretch")
        st.markdown("Accuracy is the share of test images classified correctly; macro F1 averages each class's "
                    "balance of misses and false alarms, so a rare class counts as much as a common one. "
                    "The thin lines on each bar show how much each figure could move on a different test set.")
    with speed:
        st.plotly_chart(accuracy_vs_latency(results), width="stretch")
        st.markdown(f"Further left is faster on an ordinary CPU ({results[0].latency['threads']} threads, one image "
                    "at a time); higher is more accurate; a bigger bubble is a network with more parameters. The "
                    "best choice for a small device is the highest bubble on the left, not always the biggest one.")
        st.table(cost_rows(results))
        st.caption(f"Speed: {results[0].latency['note']}.")
    with per_class:
        st.plotly_chart(recall_heatmap(results), width="stretch")
        st.markdown("Each cell is the *recall*: of all test images of that class, the share the model named "
                    "correctly. A pale cell is a class that model often misses.")
    with mistakes:
        st.plotly_chart(confusion_matrices(results), width="stretch")
        st.markdown("Rows are the true class and columns the model's answer: the diagonal holds the correct "
                    "answers, everything else is a mistake. Compare where the off-diagonal counts sit.")
    with roc:
        st.plotly_chart(roc_curves(results), width="stretch")
        st.markdown("Each curve shows how many images of that class a model finds (up) against how many other "
                    "images it wrongly flags (right) as its threshold is lowered. Curves hugging the top-left "
                    "corner are better; the dotted diagonal is guessing.")
    with training:
        st.plotly_chart(training_curves(results), width="stretch")
        st.markdown("Accuracy and loss on held-out validation images after each pass over the training set "
                    "(epoch). Curves that flatten early mean more epochs would not have helped much.")


st.title("Model comparison")
st.markdown("Is a bigger network a better one, and does a high score on the Kaggle test images mean a network "
            "works on MRIs from other hospitals? The table puts each network's Kaggle score beside its figures on "
            "scans from elsewhere, where they were measured.")

try:
    results = sorted(load_comparison(), key=lambda r: r.parameters)
except ComparisonFileError as err:
    st.error(f"**A comparison result file could not be read.** {err}", icon=":material/block:")
    results = []

if len(results) < 2:
    found = ", ".join(r.display_name for r in results) or "none"
    st.info(f"**The comparison runs are pending.** Each network still has to be trained and tested; "
            f"{len(results)} result file(s) in `{comparison_dir()}` so far ({found}). "
            "What exists is shown below.", icon=":material/hourglass_top:")

checkpoints = bundled_checkpoints()
bundled = [st.cache_resource(model_report)(path) for path in checkpoints]
every = networks(results, bundled)

st.subheader("Which network works on scans from elsewhere?")
reading = takeaway(every)
if reading:
    st.markdown(reading)
else:
    st.info("No network has been scored on scans from other sources yet (`python -m model external`).",
            icon=":material/hourglass_top:")
if every:
    st.table(network_rows(every))
    st.caption(" ".join(filter(None, [sets_caption(every), not_measured_note(every)])))
if any(n.external for n in every):
    st.plotly_chart(elsewhere_by_sequence(every), width="stretch", key="elsewhere-by-sequence")
    st.caption(elsewhere_caption(every))
versions = versions_note(results, bundled)
if versions:
    st.info(versions, icon=":material/info:")

if results:
    st.subheader("On Kaggle Testing, under one protocol")
    st.markdown("The compared networks learn the same task the same way: the same training images and settings, "
                "the same test images, the same stopwatch. What changes is only the network's design and size.")
    with st.expander("Kaggle Testing in detail: figures, speed, classes, mistakes, training"):
        kaggle_details(results)

st.subheader("Try them side by side")
st.markdown("Every model bundled with the app looks at the same image. " + bundle_note(results, bundled))
upload = sample_or_upload(
    "Image for the comparison", "Brain MRI: an image, a DICOM file or a NIfTI volume (its middle slice is used)",
    "Choose an image file to compare the models on. Nothing you upload is stored.")

try:
    scan = decoded_scan(upload)
    image = scan.slice()
    with st.spinner("Running every model…"):
        prepared = GreySlice.of(image)  # one grey conversion and head mask for every model
        explanations = [explain(str(path), upload.key, image, prepared) for path in checkpoints]
except ImageLoadError as err:
    st.error(f"**That file could not be used.** {err}", icon=":material/block:")
    st.stop()

for column, path, explanation in zip(st.columns(len(checkpoints)), checkpoints, explanations):
    clf = shared_classifier(path)
    said = verdict(scan, explanation, clf.classes)
    with column:
        st.markdown(f"#### {ARCH_NAMES.get(clf.arch, clf.arch)}")
        if said.problem:
            st.warning(f"Does not look like a brain MRI: {said.problem}. What it would say anyway:")
        elif said.kind == "unsure":
            st.markdown(f"**Unsure** (top: {said.top}, {percent(said.top_probability, 1)})")
        else:
            st.markdown(f"**{said.top}** ({percent(said.top_probability, 1)})")
        st.plotly_chart(probability_bars(clf.display_names, explanation.probabilities), width="stretch",
                        key=f"bars-{path.stem}")
        st.image(explanation.overlay(opacity=0.45), caption=f"Grad-CAM for “{said.top}”", width="stretch")
st.caption("Grad-CAM marks the regions that pushed each network towards its answer. Two models can agree on the "
           "class while looking at different places.")
