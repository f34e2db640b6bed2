"""Model card: what the bundled network is, how it was trained and how well it scores."""
import streamlit as st

from model.figures import cut, fixed, percent, percent_range
from model.names import DISPLAY_NAMES
from model.views.catalog import heat_map_rows, model_report
from model.views.charts import confusion_matrix_heatmap, training_curves
from model.views.external import side_by_side_rows
from model.views.localisation import example_pictures, localisation_rows, localisation_summary, read_localisation
from pages import follow_app_navigation

follow_app_navigation()

report = st.cache_resource(model_report)()
meta, metrics, history = report.metadata, report.metrics, report.history

st.title("Model card")
st.markdown(f"**{report.provenance}.**" + (" No ImageNet or other pretrained weights were used."
                                           if meta.get("trained_from_scratch") else ""))

if metrics:
    cols = st.columns(4)
    cols[0].metric("Accuracy", percent(metrics['accuracy']))
    cols[1].metric("Balanced accuracy", percent(metrics['balanced_accuracy']))
    cols[2].metric("Macro F1", fixed(metrics['macro_f1']))
    cols[3].metric("ROC-AUC (one-vs-rest)", fixed(metrics['macro_roc_auc_ovr']))
    st.caption(f"On all {metrics['n_images']:,} images of the Kaggle Testing split, with bootstrap 95% "
               f"intervals: accuracy {percent_range(*metrics['accuracy_ci95'])}, "
               f"macro F1 {fixed(metrics['macro_f1_ci95'][0])}–{fixed(metrics['macro_f1_ci95'][1])}.")
    st.markdown("Part of that split duplicates Training images: the **Data & evaluation** page shows the "
                "leak and the figures on the clean subset.")
    if report.external:
        st.subheader("Kaggle Testing against scans from elsewhere")
        st.dataframe(side_by_side_rows(metrics, report.external), hide_index=True, width="stretch")
        st.markdown("The same network on MRI slices gathered from other hospitals and teaching sources (T1, "
                    "contrast-enhanced T1 and T2; the external validation part, which no model trains on). "
                    "Intervals resample whole cases. The gap is the honest measure of how far the Kaggle "
                    "figures carry: see **Data & evaluation**, *On scans from elsewhere*.")
    st.subheader("Per class")
    st.dataframe(
        [{"class": name, **{k: float(cut(v, 4)) if isinstance(v, float) else v for k, v in row.items()}}
         for name, row in zip(report.display_names, metrics["per_class"].values())],
        hide_index=True, width="stretch")
    st.markdown("*Recall* (sensitivity) is the share of that class the model finds; *specificity* is the "
                "share of the other classes it correctly leaves out.")
    st.subheader("Confusion matrix")
    st.plotly_chart(confusion_matrix_heatmap(metrics["confusion_matrix"], report.display_names), width="stretch")
    st.markdown("Each row is the true class and each column the prediction: everything off the diagonal is a mistake.")
else:
    st.info("No evaluation results are bundled with this model yet.")

if history:
    st.subheader("Training curves")
    st.plotly_chart(training_curves(history), width="stretch")
    st.markdown("Validation figures use the averaged (EMA) weights on a held-out 6% of Training; "
                "training figures are on augmented images, so they sit lower.")

explain = report.explanation
if explain:
    st.subheader("Can the heat map be trusted?")
    road, versus = explain["road"], explain["versus"]
    for column, name in zip(st.columns(len(explain["methods"]) + 1), explain["methods"]):
        column.metric(f"Faithfulness of {name} (ROAD)", fixed(road[name]["mean"], 3))
    st.markdown(
        f"On {road[explain['methods'][0]]['n']} Testing images ({explain['per_class']} per class), the pixels a "
        "heat map ranks highest, or lowest, were blanked out and filled in from their neighbours (ROAD, from "
        "pytorch-grad-cam), and the change in the answer's probability measured. A score above zero means the "
        "map points at pixels the network relies on. Two maps that know nothing about the network set the bar.")
    st.dataframe(heat_map_rows(explain), hide_index=True, width="stretch")
    words = {"better": "**more faithful** than", "worse": "**less faithful** than",
             "unclear": "not clearly different from"}
    st.markdown("\n".join(
        f"- {name} is " + "; ".join(f"{words[v['verdict']]} {other} (higher on {percent(v['share_better'], 0)} of "
                                     "images)" for other, v in comparisons.items()) + "."
        for name, comparisons in versus.items()))
    st.markdown("By class, ROAD: " + "; ".join(
        f"{name} " + ", ".join(f"{DISPLAY_NAMES.get(c, c).lower()} {fixed(v, 3)}" for c, v in per_class.items())
        for name, per_class in explain["road_per_class"].items())
                + ". A no-tumour slice has no lesion to point at, so its map carries least.")
    st.markdown(
        "The last two columns are rank correlations (0: unrelated, 1: the same map). A network with the same "
        "layers and **random weights** should give a different map; part of any map follows the outline of the "
        "head whatever the weights, so the closer to 0, the more the map shows what the network learned. The map "
        "for the **runner-up class** should differ from the map for the answer too; if it did not, the map would "
        "show where the network looked, not why it chose.")

st.subheader("Does the heat map point at the tumour?")
localisation = read_localisation()
if localisation:
    st.markdown(localisation_summary(localisation))
    st.table(localisation_rows(localisation))
    examples = example_pictures()
    for column, (picture, caption) in zip(st.columns(len(examples)) if examples else [], examples):
        column.image(str(picture), caption=f"{caption}: the default map, the outline in white", width="stretch")
    st.caption("The outlines are the Figshare set's hand-drawn tumour masks, matched to the Kaggle slices they "
               "came from; no-tumour slices have none. Each map is the one the app shows, for the model's answer, "
               "placed back on the slice; intervals are bootstrap 95%. A high figure says the map falls on the "
               "tumour, not that the network relies on it: that is what the ROAD check above measures.")
else:
    st.info("Whether the heat map falls on the tumour has not been measured for this model yet "
            "(`python -m model localise` writes the figures).")

with st.expander("Training configuration and preprocessing"):
    st.json({"preprocess": meta["preprocess"], "train_config": meta.get("train_config", {}),
             "data_fingerprint": meta.get("data_fingerprint"), "parameters": meta.get("parameters")})
