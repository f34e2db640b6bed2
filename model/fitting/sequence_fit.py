"""Fit the sequence estimate (T1, contrast-enhanced T1, T2) on a checkpoint's penultimate features of
the external training list, and measure it on the external validation list.

    python -m model sequence-fit --checkpoint model/weights/resnet50.safetensors

Writes ``<checkpoint>.sequence.json``: the weights, and the estimate's accuracy on the validation part
with a case-group bootstrap interval, per sequence and as a confusion matrix.
"""
from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from ..classifier.classifier import Classifier, load_classifier
from ..classifier.sequence import SequenceModel
from ..data.image_sources import ManifestSource
from ..data.manifest import SEQUENCES, ManifestError, ManifestSet
from ..evaluation.metrics import cluster_rate_ci
from ..figures import percent
from ..paths import EXTERNAL_DIR
from ..results import SEQUENCE, add_report_flags, report_path, write_json

__all__ = ["features_of", "fit_sequence_model", "main"]


def features_of(clf: Classifier, manifest: ManifestSet, batch_size: int = 32) -> np.ndarray:
    """The classifier's penultimate features ``(N, D)`` of every image of ``manifest``."""
    return np.concatenate([clf.features(images) for images in manifest.image_chunks(batch_size)])


def fit_sequence_model(clf: Classifier, training: ManifestSet, validation: ManifestSet,
                       seed: int = 0) -> SequenceModel:
    """Standardise, fit a multinomial logistic regression, and measure it on ``validation``."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import confusion_matrix
    from sklearn.preprocessing import StandardScaler

    x_train, x_val = features_of(clf, training), features_of(clf, validation)
    scaler = StandardScaler().fit(x_train)
    fit = LogisticRegression(C=1.0, max_iter=5000, random_state=seed).fit(scaler.transform(x_train),
                                                                         training.sequences)
    guess = fit.predict(scaler.transform(x_val))
    truth = np.asarray(validation.sequences)
    hits = guess == truth
    groups = np.asarray(validation.case_groups)
    interval = cluster_rate_ci(groups, hits, seed=seed)
    per_sequence = {s: float(hits[truth == s].mean()) for s in SEQUENCES if (truth == s).any()}
    report = {"accuracy": float(hits.mean()), "accuracy_ci95": list(interval), "n_images": int(len(truth)),
              "n_case_groups": int(len(set(groups))), "recall": per_sequence,
              "confusion_matrix": confusion_matrix(truth, guess, labels=list(fit.classes_)).tolist(),
              "trained_on": f"{len(training)} slices of the external training list",
              "features": f"penultimate features of {clf.arch}"}
    return SequenceModel([str(c) for c in fit.classes_], scaler.mean_, scaler.scale_, fit.coef_, fit.intercept_, report)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_report_flags(parser, SEQUENCE)
    parser.add_argument("--manifest", default=str(EXTERNAL_DIR / "manifest.tsv"))
    args = parser.parse_args(argv)
    try:
        parts = {p: ManifestSource(Path(args.manifest), p).rows() for p in ("training", "validation")}
    except ManifestError as err:
        parser.exit(2, f"error: {err}\n")
    model = fit_sequence_model(load_classifier(args.checkpoint), parts["training"], parts["validation"])
    out = write_json(report_path(args, SEQUENCE), SEQUENCE.check(model.to_dict()))
    r = model.report
    print(f"sequence estimate on {r['n_images']} validation slices: accuracy {percent(r['accuracy'])} "
          f"[{percent(r['accuracy_ci95'][0])[:-1]}, {percent(r['accuracy_ci95'][1])}]; "
          + ", ".join(f"{s} {percent(v)}" for s, v in r["recall"].items()))
    print(f"confusion (rows truth {model.sequences}): {r['confusion_matrix']}")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
