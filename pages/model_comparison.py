"""Model comparison: several backbones trained and tested the same way, and all bundled models live."""
import streamlit as st

from model import ImageLoadError, bundled_checkpoints
from model.classifier.preprocess import GreySlice
from model.comparison.results import BUNDLE_LIMIT_BYTES, ComparisonFileError, load_comparison
from model.figures import percent
from model.names import ARCH_NAMES
from model.paths import comparison_dir
from model.views.catalog import model_report
from model.views.charts import probability_bars
from model.views.comparison_charts import (accuracy_vs_latency, confusion_matrices, diagnose_model_note, headline_bars,
                                           protocol_warnings, recall_heatmap, roc_curves, summary_rows, training_curves)
from model.views.comparison_external import external_measured, external_rows
from model.views.diagnosis import verdict
from model.views.external import models_by_sequence_chart, models_side_by_side
from pages import decoded_scan, follow_app_navigation, sample_or_upload, shared_classifier

follow_app_navigation()



@st.cache_data(max_entries=32, show_spinner=False)
def explain(checkpoint: str, key: str, _image, _prepared):
    """Cached per model and file; the image and its grey pixels (shared by every model) are not hashed."""
    return shared_classifier(checkpoint).explain(_image, prepared=_prepared)


st.title("Model comparison")
st.markdown("Is a bigger network a better one? Here several well-known image networks (*backbones*) learn the "
            "same task under one protocol: the same training images and settings, the same test images, and "
            "the same stopwatch. What changes is only the network's design and size.")

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

if results:
    st.subheader("At a glance")
    st.dataframe(summary_rows(results), hide_index=True, width="stretch")
    st.caption(f"Tested on {results[0].n_images:,} images of the Kaggle Testing split. Intervals are bootstrap "
               f"95% ranges: where two models' ranges overlap, the test set cannot tell them apart. "
               f"Speed: {results[0].latency['note']}.")
    for note in protocol_warnings(results):
        st.warning(note, icon=":material/warning:")
    report = st.cache_resource(model_report)()
    if report.metrics:
        app_note = diagnose_model_note(results, report.arch, report.metadata["preprocess"]["input_size"],
                                       report.metrics["accuracy"])
        if app_note:
            st.info(app_note, icon=":material/info:")

    elsewhere = external_measured(results)
    if elsewhere:
        st.subheader("Each backbone on scans from elsewhere")
        st.markdown("The Kaggle test images come from the same few collections as the training ones. Beside each "
                    "network's Kaggle accuracy: how it does on MRIs from other hospitals, scanners and sequences "
                    "(the external validation slices, which no model trains on), and what it was trained on.")
        st.dataframe(external_rows(results), hide_index=True, width="stretch")
        st.plotly_chart(models_by_sequence_chart(elsewhere), width="stretch", key="comparison-by-sequence")
        first = next(iter(elsewhere.values()))
        st.caption(f"Tumours found, per sequence. Made by `python -m model compare` with `python -m model external` "
                   f"on {first['n_images']} slices in {first['n_case_groups']} case groups; intervals resample whole "
                   "cases. \"not measured\": that result file predates these figures.")

    st.subheader("Accuracy and macro F1")
    st.plotly_chart(headline_bars(results), width="stretch")
    st.markdown("Accuracy is the share of test images classified correctly; macro F1 averages each class's "
                "balance of misses and false alarms, so a rare class counts as much as a common one. "
                "The thin lines on each bar show how much each figure could move on a different test set.")

    st.subheader("Accuracy against speed")
    st.plotly_chart(accuracy_vs_latency(results), width="stretch")
    st.markdown(f"Further left is faster on an ordinary CPU ({results[0].latency['threads']} threads, one image at "
                "a time); higher is more accurate; a bigger bubble is a network with more parameters. "
                "The best choice for a small device is the highest bubble on the left, not always the biggest one.")

    st.subheader("Which tumour types each model finds")
    st.plotly_chart(recall_heatmap(results), width="stretch")
    st.markdown("Each cell is the *recall*: of all test images of that class, the share the model named correctly. "
                "A pale cell is a class that model often misses.")

    st.subheader("Where the mistakes go")
    st.plotly_chart(confusion_matrices(results), width="stretch")
    st.markdown("Rows are the true class and columns the model's answer: the diagonal holds the correct answers, "
                "everything else is a mistake. Compare where the off-diagonal counts sit from model to model.")

    st.subheader("ROC curves, one class at a time")
    st.plotly_chart(roc_curves(results), width="stretch")
    st.markdown("Each curve shows how many images of that class a model finds (up) against how many other images "
                "it wrongly flags (right) as its threshold is lowered. Curves hugging the top-left corner are "
                "better; the dotted diagonal is guessing.")

    st.subheader("How training went")
    st.plotly_chart(training_curves(results), width="stretch")
    st.markdown("Accuracy and loss on held-out validation images after each pass over the training set (epoch). "
                "Curves that flatten early mean more epochs would not have helped much.")

checkpoints = bundled_checkpoints()
st.subheader("On scans from elsewhere")
bundled = [st.cache_resource(model_report)(path) for path in checkpoints]
measured = {ARCH_NAMES.get(r.arch, r.arch): r for r in bundled if r.external}
if measured:
    st.markdown("The question that matters is which network still works on MRIs from other hospitals, scanners "
                "and sequences. Each bundled model was scored on the same external validation slices, which "
                "no model trains on, beside its Kaggle Testing accuracy.")
    rows = models_side_by_side({name: (r.metrics, r.external, r.metadata) for name, r in measured.items()})
    st.dataframe(rows, hide_index=True, width="stretch")
    st.plotly_chart(models_by_sequence_chart({name: r.external for name, r in measured.items()}), width="stretch")
    first = next(iter(measured.values())).external
    st.caption(f"Made by `python -m model external` on {first['n_images']} slices in {first['n_case_groups']} "
               "case groups; intervals resample whole cases. A few very large cases carry much of each figure, "
               "so overlapping ranges mean the set cannot tell two models apart.")
else:
    st.info("No bundled model has been scored on scans from other sources yet (`python -m model external`).",
            icon=":material/hourglass_top:")

st.subheader("Try them side by side")
st.markdown("Every model bundled with the app looks at the same image. Networks whose weights file is over "
            f"{BUNDLE_LIMIT_BYTES / 2**20:.0f} MB (VGG16, for one) are never bundled: too big to ship with the app."
            + ("" if len(checkpoints) > 1 else " Only one model is bundled so far."))
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
