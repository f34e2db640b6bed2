"""Data & evaluation: the dataset, its duplicate leak, clean figures, calibration, the MRI check and robustness."""
import streamlit as st

from model.classifier.explanation import UNSURE_BELOW
from model.figures import fixed, percent
from model.names import DISPLAY_NAMES
from model.paths import DUPLICATES_DIR
from model.views.catalog import bundled_samples, ct_like_findings, model_report, named_mistakes
from model.views.charts import class_balance, full_versus_clean, reliability_diagram
from model.views.external import by_sequence_chart, by_tumour_type_chart, external_reading
from model.views.leak import clean_subset_reading, figshare_conflicts, mirror_check, mirror_leak_chart, pair_kind
from model.views.robustness import load_stress_report, robustness_heatmap, robustness_summary
from pages import follow_app_navigation

follow_app_navigation()

report = st.cache_resource(model_report)()
meta, metrics, audit = report.metadata, report.metrics or {}, report.audit

st.title("Data & evaluation")
st.markdown("How much should you trust the accuracy figures? This page shows the data, "
            "a leak in the public test split, and how the model behaves when it should not answer.")

if audit:
    st.subheader("The dataset")
    st.plotly_chart(class_balance(audit["class_counts"], DISPLAY_NAMES), width="stretch")
    st.markdown("The Kaggle Brain Tumor MRI Dataset (CC0) has four classes of roughly equal size, "
                "split by its authors into Training and Testing folders. One bundled example per class:")
    for column, sample in zip(st.columns(4), bundled_samples()):
        column.image(str(sample.path), caption=DISPLAY_NAMES.get(sample.label, sample.label))
    st.markdown("The slices mix T1, T2 and FLAIR contrasts and axial, coronal and sagittal views.")

    st.subheader("Duplicates: the test split leaks")
    st.markdown(
        f"A perceptual hash finds look-alike pairs, and a pixel correlation of at least "
        f"{audit['settings']['min_correlation']} confirms them. **{audit['pairs']['exact']:,}** pairs are "
        f"byte-identical and **{audit['pairs']['near']:,}** more are the same slice re-processed or its neighbour "
        f"in the same series. **{audit['testing_with_training_duplicate']:,} of {audit['testing_images']:,}** "
        f"Testing images have such a twin in Training, so a model can score well there by memory. "
        f"Label conflicts (one image under two classes): {audit['label_conflict_clusters']}.")
    st.dataframe([{"class": DISPLAY_NAMES.get(c, c), "leaked Testing images": n,
                   "Testing images": audit["class_counts"]["Testing"][c]}
                  for c, n in audit["testing_leaked_per_class"].items()], hide_index=True)
    for pair in audit.get("examples", []):
        left, right, info = st.columns([1, 1, 2])
        left.image(str(DUPLICATES_DIR / pair["a_thumbnail"]), caption=pair["a"])
        right.image(str(DUPLICATES_DIR / pair["b_thumbnail"]), caption=pair["b"])
        info.markdown(f"**{pair_kind(pair)}**  \nhash distance {pair['hash_distance']} of 64 bits, "
                      f"pixel correlation {fixed(pair['correlation'], 3)}")

    mirrored = mirror_check(audit)
    if mirrored is None:
        st.info("This audit predates the check for mirrored and turned copies; "
                "`python -m model audit` makes one with it.")
    else:
        st.markdown(
            f"Many slices are stored twice, once flipped left-right, and a perceptual hash of a mirrored slice "
            f"looks nothing like the original's. Hashing every image mirrored and turned by quarters as well "
            f"finds **{mirrored['pairs_mirrored']:,}** mirrored and **{mirrored['pairs_turned']:,}** turned pairs. "
            f"Of the {mirrored['testing']:,} Testing images, {mirrored['twin as is']:,} have a twin as is, "
            f"**{mirrored['mirrored copy']:,}** more a mirrored copy and {mirrored['turned copy']:,} a turned one "
            f"in Training: the clean subset shrinks from {mirrored['clean_before']:,} to "
            f"**{mirrored['clean']:,}** images.")
        st.plotly_chart(mirror_leak_chart(audit), width="stretch")
    conflicts = figshare_conflicts(audit)
    if conflicts is not None:
        lines, note = conflicts
        st.markdown("**Labels that disagree with the source.** Most tumour slices come from the Figshare set, "
                    "whose own labels differ from the Kaggle folder for these images:\n\n"
                    + "\n".join(f"- {line}" for line in lines) if lines else f"Figshare labels: {note}.")

ct = ct_like_findings(report)
if ct:
    st.subheader("CT slices in an MRI dataset")
    training, testing = sum(ct["counts"]["Training"].values()), ct["testing"]
    st.markdown(
        f"On a head CT the skull is a closed ring of near-white bone; on an MRI it is dark. Searching for that "
        f"ring finds **{training} of {ct['checked']['Training']:,}** Training and **{testing} of "
        f"{ct['checked']['Testing']:,}** Testing images that look like CT slices, not MRIs, "
        + ("all filed as " if len(ct["classes"]) == 1 else "filed as ") + " or ".join(ct["classes"])
        + ". A network trained on them can learn \"a CT picture means no tumour\" rather than anatomy. "
        "The \"not a brain MRI\" check accepts them too, and still did when fitted on a network trained "
        "without them. Slices whose ring is open or not saturated are missed (a few CT slices filed as "
        "meningioma among them), so these counts are a floor."
        + (f" Of the {testing} Testing CT slices, {ct['testing_clean'] or 'none'} are in the clean subset"
           if ct["testing_clean"] is not None else "")
        + (f"; the model gets {ct['testing_wrong'] or 'none'} wrong" if ct["testing_wrong"] is not None else "")
        + (f" and the MRI check turns away {ct['testing_rejected'] or 'none'}" if ct["testing_rejected"] is not None else "")
        + ".")
    for column, (thumbnail, image) in zip(st.columns(5), ct["examples"]):
        column.image(str(thumbnail), caption=image)

clean = metrics.get("clean")
if clean and clean.get("n_images"):
    st.subheader("Full versus clean test figures")
    st.plotly_chart(full_versus_clean(metrics, clean), width="stretch")
    st.markdown(clean_subset_reading(metrics))

wrong = named_mistakes(metrics)
if wrong is not None:
    st.subheader("The mistakes, by name")
    st.markdown(
        f"The model gets **{len(wrong)}** of {metrics['n_images']:,} Testing images wrong"
        + (f", {sum(bool(w['clean']) for w in wrong)} of them with no twin in Training" if clean else "")
        + ". Each is named, most confident mistake first, so that you can open it in the public dataset and "
        "judge the mistake, or the label, yourself. A confident mistake is the kind to worry about: the "
        "model was sure and wrong.")
    st.dataframe([{"image": w["image"], "truth": w["truth"], "predicted": w["predicted"],
                   "confidence": percent(w["confidence"]),
                   "clean": {True: "yes", False: "no", None: "not audited"}[w["clean"]]} for w in wrong],
                 hide_index=True)
    pictured = [w for w in wrong if w["thumbnail"]]
    for start in range(0, len(pictured), 5):
        for column, w in zip(st.columns(5), pictured[start:start + 5]):
            column.image(str(w["thumbnail"]), caption=f"{w['truth']} → {w['predicted']}, {percent(w['confidence'])}")

if "reliability" in metrics:
    st.subheader("Can the confidence be trusted?")
    st.plotly_chart(reliability_diagram(metrics["reliability"]), width="stretch")
    calibration = meta.get("calibration")
    st.markdown(
        f"Expected calibration error on Testing: **{fixed(metrics['ece'])}** (0 is perfect). "
        + (f"A temperature of {fixed(meta['temperature'], 3)}, fitted on the validation split, rescales the raw "
           f"scores (validation ECE {fixed(calibration['validation_ece_before'])} → "
           f"{fixed(calibration['validation_ece_after'])}). " if calibration else "")
        + "Points on the diagonal mean that a stated 90% is right 9 times in 10.")
    binary = metrics.get("tumour_vs_no_tumour")
    if binary:
        st.markdown(f"**Tumour versus no tumour**: sensitivity {percent(binary['sensitivity'])} "
                    f"({binary['missed_tumours']} of {binary['tumours']} tumours called normal), "
                    f"specificity {percent(binary['specificity'])}. Missing a tumour is the costly error. "
                    f"The Diagnose page names no class when the top probability is under {UNSURE_BELOW:.0%}.")

ood = report.ood
if ood:
    st.subheader("Not a brain MRI?")
    st.markdown(
        f"Before naming a class the app checks that the picture looks like a brain MRI: grey, not blank, "
        f"and close to the training scans in the network's own feature space. It turned away "
        f"**{ood['ood_rejected']} of {ood['ood_images']}** pictures that are not brain MRIs (photos, drawings, "
        f"text, noise, CT and ultrasound DICOMs) and **{ood['testing_rejected']} of {ood['testing_images']:,}** "
        f"real Testing MRIs ({percent(ood['testing_rejected_rate'])})."
        + (f" A DICOM file whose Modality tag names another kind of imaging (CT, ultrasound, X-ray…) is "
           f"refused on that alone: {ood['ood_rejected_by_pixels']} of the {ood['ood_images']} were caught "
           "by the picture checks, the rest only by their tag." if "ood_rejected_by_pixels" in ood else ""))

external = report.external
if external:
    st.subheader("On scans from elsewhere")
    st.markdown(
        "Every figure above comes from the Kaggle folders the model was trained beside. Here it meets MRI "
        "slices from other sources: the validation part of a public collection gathered from many "
        "hospitals and teaching sites (feltrin-44-dev, split by case; no model trains on this part). "
        "Intervals resample whole cases, since slices of one case are not independent.")
    st.markdown("\n".join(f"- {line}" for line in external_reading(external)))
    st.plotly_chart(by_sequence_chart(external), width="stretch")
    st.markdown("By sequence. The Kaggle tumour slices are almost all contrast-enhanced T1 from one "
                "collection, so a model that learned the kind of scan rather than the lesion finds few "
                "tumours on T1 and T2 slices.")
    st.plotly_chart(by_tumour_type_chart(external), width="stretch")
    st.markdown("By tumour type: the share of slices called a tumour of any kind. Types the model was never "
                "taught (all but glioma and meningioma here) should still be called a tumour, not normal.")
    st.caption(f"Made by `python -m model external` on {external['n_images']} slices in "
               f"{external['n_case_groups']} case groups; a few very large case groups carry much of the "
               "weight, so the intervals are wide.")

stress = st.cache_resource(load_stress_report)()
if stress:
    st.subheader("Scans from other hospitals (simulated)")
    st.markdown(
        "Other hospitals frame, size, light and compress their images differently. We have no scans from "
        "other hospitals, so every Testing image is changed the way another source might change it and "
        "classified again by each bundled model. A model that learned the brain keeps its accuracy; one that "
        "learned the look of the Kaggle pictures drops, or calls nearly everything one class.")
    st.plotly_chart(robustness_heatmap(stress), width="stretch")
    st.markdown("\n".join(f"- {robustness_summary(stress, key)}" for key in stress["models"]))
    st.caption(f"Made by `{stress['command']}` on {stress['date']} ({stress['machine']}). Passing simulated "
               "changes is necessary, not sufficient: only real scans from elsewhere can show the rest.")
