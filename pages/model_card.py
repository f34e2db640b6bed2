"""Model card: what the bundled network is, how well it does on scans from elsewhere and on Kaggle Testing,
how it was trained and how far its heat map can be trusted (layout only: the words come from model.views)."""
import streamlit as st

from model.views.card import (elsewhere_note, kaggle_caption, kaggle_figures, per_class_rows, road_by_class,
                              road_figures, road_reading, road_verdicts, validation_note)
from model.views.catalog import heat_map_rows, model_report
from model.views.charts import confusion_matrix_heatmap, training_curves
from model.views.external import side_by_side_rows
from model.views.headline import headline_figures, takeaway
from model.views.localisation import example_pictures, localisation_rows, localisation_summary, read_localisation
from pages import follow_app_navigation

follow_app_navigation()

report = st.cache_resource(model_report)()
meta, metrics, history, external = report.metadata, report.metrics, report.history, report.external

st.title("Model card")
st.markdown(f"**{report.provenance}.**" + (" No ImageNet or other pretrained weights were used."
                                           if meta.get("trained_from_scratch") else ""))

if metrics:
    st.markdown(takeaway(metrics, external))
    figures = headline_figures(metrics, external)
    for column, figure in zip(st.columns(len(figures)), figures):
        column.metric(figure.label, figure.value, help=figure.help, border=True)
    if external:
        st.subheader("Kaggle Testing against scans from elsewhere")
        st.dataframe(side_by_side_rows(metrics, external), hide_index=True, width="stretch")
        st.markdown(elsewhere_note(external))
    st.markdown("Part of the Kaggle Testing split duplicates Training images: the **Data & evaluation** page "
                "shows the leak and the figures on the clean subset.")
    with st.expander("Kaggle Testing in detail: per class and the confusion matrix"):
        details = kaggle_figures(metrics)
        for column, (label, value) in zip(st.columns(len(details)), details.items()):
            column.metric(label, value)
        st.caption(kaggle_caption(metrics))
        st.dataframe(per_class_rows(report.display_names, metrics), hide_index=True, width="stretch")
        st.markdown("*Recall* (sensitivity) is the share of that class the model finds; *specificity* is the "
                    "share of the other classes it correctly leaves out.")
        st.plotly_chart(confusion_matrix_heatmap(metrics["confusion_matrix"], report.display_names),
                        width="stretch")
        st.markdown("Each row is the true class and each column the prediction: everything off the diagonal is "
                    "a mistake.")
else:
    st.info("No evaluation results are bundled with this model yet.")

if history:
    with st.expander("Training curves"):
        st.plotly_chart(training_curves(history, config=meta.get("train_config")), width="stretch")
        st.markdown(validation_note(meta))

explain = report.explanation
if explain:
    st.subheader("Can the heat map be trusted?")
    faithfulness = road_figures(explain)
    for column, (label, value) in zip(st.columns(len(faithfulness) + 1), faithfulness.items()):
        column.metric(label, value)
    st.markdown("\n".join(f"- {line}" for line in road_verdicts(explain)))
    with st.expander("How faithfulness was measured, map by map"):
        st.markdown(road_reading(explain))
        st.dataframe(heat_map_rows(explain), hide_index=True, width="stretch")
        st.markdown(road_by_class(explain))
        st.markdown(
            "The last two columns are rank correlations (0: unrelated, 1: the same map). A network with the same "
            "layers and **random weights** should give a different map; part of any map follows the outline of "
            "the head whatever the weights, so the closer to 0, the more the map shows what the network learned. "
            "The map for the **runner-up class** should differ from the map for the answer too; if it did not, "
            "the map would show where the network looked, not why it chose.")

st.subheader("Does the heat map point at the tumour?")
localisation = read_localisation()
if localisation:
    st.markdown(localisation_summary(localisation))
    with st.expander("The figures per map, and three examples"):
        st.table(localisation_rows(localisation))
        examples = example_pictures()
        for column, (picture, caption) in zip(st.columns(len(examples)) if examples else [], examples):
            column.image(str(picture), caption=f"{caption}: the default map, the outline in white", width=260)
        st.caption("The outlines are the Figshare set's hand-drawn tumour masks, matched to the Kaggle slices they "
                   "came from; no-tumour slices have none. Each map is the one the app shows, for the model's "
                   "answer, placed back on the slice; intervals are bootstrap 95%. A high figure says the map falls "
                   "on the tumour, not that the network relies on it: that is what the ROAD check above measures.")
else:
    st.info("Whether the heat map falls on the tumour has not been measured for this model yet "
            "(`python -m model localise` writes the figures).")

with st.expander("Training configuration and preprocessing"):
    st.json({"preprocess": meta["preprocess"], "train_config": meta.get("train_config", {}),
             "data_fingerprint": meta.get("data_fingerprint"), "parameters": meta.get("parameters")})
