"""Model card: what the bundled network is, how it was trained and how well it scores."""
import streamlit as st

from model.catalog import model_report
from model.charts import confusion_matrix_heatmap, reliability_diagram, training_curves
from model.inference import UNSURE_BELOW

report = st.cache_resource(model_report)()
meta, metrics, history = report.metadata, report.metrics, report.history

st.title("Model card")
st.markdown(f"**{report.provenance}.**" + (" No ImageNet or other pretrained weights were used."
                                           if meta.get("trained_from_scratch") else ""))

if metrics:
    cols = st.columns(4)
    cols[0].metric("Accuracy", f"{metrics['accuracy']:.2%}")
    cols[1].metric("Balanced accuracy", f"{metrics['balanced_accuracy']:.2%}")
    cols[2].metric("Macro F1", f"{metrics['macro_f1']:.4f}")
    cols[3].metric("ROC-AUC (one-vs-rest)", f"{metrics['macro_roc_auc_ovr']:.4f}")
    st.caption(f"On all {metrics['n_images']:,} images of the Kaggle Testing split, with bootstrap 95% "
               f"intervals: accuracy {metrics['accuracy_ci95'][0]:.2%}–{metrics['accuracy_ci95'][1]:.2%}, "
               f"macro F1 {metrics['macro_f1_ci95'][0]:.4f}–{metrics['macro_f1_ci95'][1]:.4f}.")
    clean, audit = metrics.get("clean"), report.audit
    if clean and audit:
        st.subheader("Leakage: the honest figure")
        st.markdown(
            f"The public Testing folder is not independent of Training. Our audit (perceptual hash, "
            f"confirmed by pixel correlation ≥ {audit['settings']['min_correlation']}) found that "
            f"**{audit['testing_with_training_duplicate']:,} of {audit['testing_images']:,} Testing images** have "
            "an exact or near duplicate (the same slice re-processed, or its neighbour in the same series) "
            "in Training. On the remaining clean images the model scores:")
        cols = st.columns(3)
        cols[0].metric("Clean accuracy", f"{clean['accuracy']:.2%}",
                       f"{clean['accuracy'] - metrics['accuracy']:+.2%} vs full", delta_color="off")
        cols[1].metric("Clean macro F1", f"{clean['macro_f1']:.4f}")
        cols[2].metric("Clean images", f"{clean['n_images']:,}")
        st.caption(f"95% intervals: accuracy {clean['accuracy_ci95'][0]:.2%}–{clean['accuracy_ci95'][1]:.2%}, "
                   f"macro F1 {clean['macro_f1_ci95'][0]:.4f}–{clean['macro_f1_ci95'][1]:.4f}. Leaked Testing "
                   f"images per class: {audit['testing_leaked_per_class']}. Few no-tumour images stay clean, "
                   "so the clean figure says little about that class.")
    st.subheader("Per class")
    st.dataframe(
        [{"class": name, **{k: round(v, 4) if isinstance(v, float) else v for k, v in row.items()}}
         for name, row in zip(report.display_names, metrics["per_class"].values())],
        hide_index=True, width="stretch")
    st.markdown("*Recall* (sensitivity) is the share of that class the model finds; *specificity* is the "
                "share of the other classes it correctly leaves out.")
    st.subheader("Confusion matrix")
    st.plotly_chart(confusion_matrix_heatmap(metrics["confusion_matrix"], report.display_names), width="stretch")
    st.markdown("Each row is the true class and each column the prediction: everything off the diagonal is a mistake.")
else:
    st.info("No evaluation results are bundled with this model yet.")

if metrics and "reliability" in metrics:
    st.subheader("Can the confidence be trusted?")
    calibration = meta.get("calibration", {})
    st.plotly_chart(reliability_diagram(metrics["reliability"]), width="stretch")
    st.markdown(
        f"Expected calibration error on Testing: **{metrics['ece']:.4f}** (0 is perfect). "
        + (f"A temperature of {meta['temperature']:.3f}, fitted on the validation split, softens the raw "
           f"scores (validation ECE {calibration['validation_ece_before']:.4f} → "
           f"{calibration['validation_ece_after']:.4f}). " if "temperature" in meta else "")
        + "Points on the diagonal mean that a stated 90% is right 9 times in 10.")
    binary = metrics.get("tumour_vs_no_tumour")
    if binary:
        st.markdown(f"**Tumour versus no tumour**: sensitivity {binary['sensitivity']:.2%} "
                    f"({binary['missed_tumours']} of {binary['tumours']} tumours called normal), "
                    f"specificity {binary['specificity']:.2%}. Missing a tumour is the costly error. "
                    f"The Diagnose page names no class when the top probability is under {UNSURE_BELOW:.0%}.")

ood = meta.get("ood")
if ood:
    st.subheader("Not a brain MRI?")
    st.markdown(
        f"Before naming a class the app checks that the picture looks like a brain MRI (grey, not blank, "
        f"and close to the training scans in the network's own feature space). It turned away "
        f"**{ood['ood_rejected']} of {ood['ood_images']}** test pictures that are not brain MRIs (photos, "
        f"drawings, text, noise, CT and ultrasound DICOMs) and **{ood['testing_rejected']} of "
        f"{ood['testing_images']:,}** real Testing MRIs ({ood['testing_rejected_rate']:.2%}).")

if history:
    st.subheader("Training curves")
    st.plotly_chart(training_curves(history), width="stretch")
    st.markdown("Validation figures use the averaged (EMA) weights on a held-out 6% of Training; "
                "training figures are on augmented images, so they sit lower.")

with st.expander("Training configuration and preprocessing"):
    st.json({"preprocess": meta["preprocess"], "train_config": meta.get("train_config", {}),
             "data_fingerprint": meta.get("data_fingerprint"), "parameters": meta.get("parameters")})
