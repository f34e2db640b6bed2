"""Data & evaluation: the dataset, its duplicate leak, clean figures, calibration, the MRI check, scans from
elsewhere and robustness (layout only: every figure and claim comes from model.views)."""
import streamlit as st

from model.classifier.explanation import UNSURE_BELOW
from model.names import DISPLAY_NAMES
from model.paths import DUPLICATES_DIR
from model.views.catalog import bundled_samples, ct_like_findings, model_report, named_mistakes
from model.views.charts import class_balance, full_versus_clean, reliability_diagram
from model.views.dataset import (ct_reading, dataset_reading, kaggle_sequences, label_reading, leak_reading,
                                 mirror_reading, training_sources)
from model.views.external import (by_sequence_chart, by_tumour_type_chart, external_reading, interval_skew_note,
                                  sequence_reading)
from model.views.headline import headline_figures, takeaway
from model.views.kaggle_testing import (binary_reading, calibration_reading, mistake_groups, mistake_rows,
                                        mistakes_reading, ood_reading)
from model.views.leak import clean_subset_reading, mirror_check, mirror_leak_chart, pair_reading
from model.views.localisation import read_localisation
from model.views.robustness import load_stress_report, robustness_heatmap, robustness_summary
from pages import follow_app_navigation

follow_app_navigation()

report = st.cache_resource(model_report)()
meta, metrics, audit, external = report.metadata, report.metrics or {}, report.audit, report.external
localisation = read_localisation()

st.title("Data & evaluation")
st.markdown("How much should you trust the accuracy figures? This page shows the data, a leak in the public "
            "test split, how the model does on scans from elsewhere, and how it behaves when it should not answer.")
if metrics:
    st.markdown(takeaway(metrics, external))
    figures = headline_figures(metrics, external)
    for column, figure in zip(st.columns(len(figures)), figures):
        column.metric(figure.label, figure.value, help=figure.help, border=True)

if audit:
    st.subheader("The dataset")
    st.markdown(dataset_reading(audit, localisation))
    sources = training_sources(meta)
    if sources:
        st.markdown(sources)
    with st.expander("Class sizes, and one bundled example per class"):
        st.plotly_chart(class_balance(audit["class_counts"], DISPLAY_NAMES), width="stretch")
        for column, sample in zip(st.columns(4), bundled_samples()):
            column.image(str(sample.path), caption=DISPLAY_NAMES.get(sample.label, sample.label))

    st.subheader("Duplicates: the test split leaks")
    st.markdown(leak_reading(audit))
    mirrored = mirror_check(audit)
    if mirrored is None:
        st.info("This audit predates the check for mirrored and turned copies; "
                "`python -m model audit` makes one with it.")
    else:
        st.markdown(mirror_reading(mirrored))
        st.plotly_chart(mirror_leak_chart(audit), width="stretch")
    labels, conflicts = label_reading(audit)
    st.markdown(labels + ("\n\n" + "\n".join(f"- {line}" for line in conflicts) if conflicts else ""))
    with st.expander("Example pairs, and leaked Testing images per class"):
        st.dataframe([{"class": DISPLAY_NAMES.get(c, c), "leaked Testing images (twin as is)": n,
                       "Testing images": audit["class_counts"]["Testing"][c]}
                      for c, n in audit["testing_leaked_per_class"].items()], hide_index=True, width="stretch")
        for pair in audit.get("examples", []):
            left, right, info = st.columns([1, 1, 2])
            left.image(str(DUPLICATES_DIR / pair["a_thumbnail"]), caption=pair["a"])
            right.image(str(DUPLICATES_DIR / pair["b_thumbnail"]), caption=pair["b"])
            info.markdown(pair_reading(pair))

ct = ct_like_findings(report)
if ct:
    st.subheader("CT slices in an MRI dataset")
    st.markdown(ct_reading(ct))
    if ct["examples"]:
        with st.expander("The CT-like slices, pictured"):
            for column, (thumbnail, image) in zip(st.columns(5), ct["examples"]):
                column.image(str(thumbnail), caption=image)

clean = metrics.get("clean")
if clean and clean.get("n_images"):
    st.subheader("Full versus clean test figures")
    st.markdown(clean_subset_reading(metrics))
    with st.expander("Full versus clean, figure by figure"):
        st.plotly_chart(full_versus_clean(metrics, clean), width="stretch")

wrong = named_mistakes(metrics)
if wrong is not None:
    st.subheader("The mistakes, by name")
    groups = st.cache_data(mistake_groups)(wrong)  # reads and hashes every thumbnail: once per server
    st.markdown(mistakes_reading(wrong, metrics, groups))
    with st.expander("Every mistake, by name"):
        st.dataframe(mistake_rows(wrong, groups), hide_index=True, width="stretch",
                     column_config={"same picture as": st.column_config.TextColumn(width="medium")})
    with st.expander(f"The mistakes, pictured ({len(groups)} pictures)"):
        for start in range(0, len(groups), 6):
            for column, group in zip(st.columns(6), groups[start:start + 6]):
                column.image(str(group.thumbnail), caption=group.caption)

if "reliability" in metrics:
    st.subheader("Can the confidence be trusted?")
    st.markdown(calibration_reading(metrics, meta))
    binary = metrics.get("tumour_vs_no_tumour")
    if binary:
        st.markdown(binary_reading(binary, UNSURE_BELOW))
    with st.expander("Reliability diagram"):
        st.plotly_chart(reliability_diagram(metrics["reliability"]), width="stretch")

ood = report.ood
if ood:
    st.subheader("Not a brain MRI?")
    st.markdown(ood_reading(ood))

if external:
    st.subheader("On scans from elsewhere")
    st.markdown(
        "The figures above come from the Kaggle folders the model was trained beside. Here it meets real MRI "
        "slices from other sources: the validation part of a public collection gathered from many hospitals "
        "and teaching sites (feltrin-44-dev, split by case; no model trains on this part). Intervals resample "
        "whole cases, since slices of one case are not independent.")
    st.markdown("\n".join(f"- {line}" for line in external_reading(external)))
    st.plotly_chart(by_sequence_chart(external), width="stretch")
    st.markdown(sequence_reading(external, kaggle_sequences(audit, None)))
    with st.expander("By tumour type"):
        st.plotly_chart(by_tumour_type_chart(external), width="stretch")
        st.markdown("The share of slices called a tumour of any kind. Types the model was never taught (all but "
                    "glioma and meningioma here) should still be called a tumour, not normal.")
    skew = interval_skew_note(external)
    st.caption(f"Made by `python -m model external` on {external['n_images']:,} slices in "
               f"{external['n_case_groups']} case groups." + (f" {skew}" if skew else ""))

stress = st.cache_resource(load_stress_report)()
if stress:
    st.subheader("Scans from other hospitals (simulated)")
    st.markdown(
        "Other hospitals frame, size, light and compress their images differently. The section above measures "
        "real scans from elsewhere, where everything differs at once; this one changes one thing at a time: "
        "every Kaggle Testing image is changed the way another source might change it and classified again by "
        "each bundled model. A model that learned the brain keeps its accuracy; one that learned the look of "
        "the Kaggle pictures drops, or calls nearly everything one class.")
    st.markdown("\n".join(f"- {robustness_summary(stress, key)}" for key in stress["models"]))
    with st.expander("Accuracy per change and model"):
        st.plotly_chart(robustness_heatmap(stress), width="stretch")
    st.caption(f"Made by `{stress['command']}` on {stress['date']} ({stress['machine']}). Passing simulated "
               "changes is necessary, not sufficient: the real scans from elsewhere above show the rest.")
