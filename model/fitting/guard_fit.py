"""Fit the "not a brain MRI" guard into a checkpoint and measure it.

    python -m model.fitting.guard_fit --checkpoint model/weights/resnet50.safetensors --data ../shared/data/brain-tumor-mri

Fits :class:`model.classifier.guard.FeatureGuard` on the Training split's features, with
the threshold set on out-of-fold scores, stores it in the checkpoint, then
reports the share of Testing MRIs rejected and the share of an
out-of-distribution set rejected. The OOD set is built only from images
that installed packages ship (scikit-learn's sample photos, pydicom's CT and
ultrasound files when pydicom is installed) and images synthesised here.
"""
from __future__ import annotations

import argparse
import warnings
from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageDraw

from ..classifier.checkpoint import load_checkpoint, read_metadata, save_checkpoint, split_guard_tensors
from ..classifier.guard import FeatureGuard, fit_guard
from ..classifier.classifier import Classifier, load_classifier
from ..data.folders import cache_dir_arg, cached_decode, index_folder
from ..figures import percent
from ..paths import CACHE_DIR, KAGGLE_DIR
from ..results import OOD, add_report_flags, report_path, write_json
from ..uploads.load import load_scan
from ..uploads.scan import OTHER_IMAGING_MODALITIES, Scan


def synthetic_ood_images(seed: int = 0, size: int = 256) -> dict[str, Image.Image]:
    """Noise, blanks, gradients, patterns, text and drawings."""
    rng = np.random.default_rng(seed)
    ramp = np.linspace(0, 255, size, dtype=np.float32)
    yy, xx = np.mgrid[:size, :size]
    radial = np.hypot(yy - size / 2, xx - size / 2)
    out = {
        "noise uniform": Image.fromarray(rng.integers(0, 256, (size, size), dtype=np.uint8)),
        "noise colour": Image.fromarray(rng.integers(0, 256, (size, size, 3), dtype=np.uint8)),
        "noise gaussian": Image.fromarray(np.clip(rng.normal(128, 40, (size, size)), 0, 255).astype(np.uint8)),
        "blank black": Image.new("L", (size, size), 0),
        "blank white": Image.new("L", (size, size), 255),
        "blank grey": Image.new("RGB", (size, size), (128, 128, 128)),
        "gradient horizontal": Image.fromarray(np.tile(ramp, (size, 1)).astype(np.uint8)),
        "gradient radial": Image.fromarray((255 - radial / radial.max() * 255).astype(np.uint8)),
        "checkerboard": Image.fromarray((((yy // 32 + xx // 32) % 2) * 255).astype(np.uint8)),
        "stripes": Image.fromarray(((np.sin(xx / 6) > 0) * 200).astype(np.uint8)),
    }
    for i in range(4):
        page = Image.new("L", (size * 2, size), 255)
        draw = ImageDraw.Draw(page)
        for line in range(12):
            words = " ".join("".join(chr(97 + c) for c in rng.integers(0, 26, rng.integers(2, 9)))
                             for _ in range(8))
            draw.text((8, 8 + line * 20), words, fill=0)
        out[f"text screenshot {i}"] = page
    for i in range(6):
        drawing = Image.new("RGB", (size, size), "white" if i % 2 else "black")
        draw = ImageDraw.Draw(drawing)
        for _ in range(8):
            box = sorted(rng.integers(0, size, 2)), sorted(rng.integers(0, size, 2))
            colour = tuple(int(c) for c in rng.integers(0, 256, 3))
            shape = draw.ellipse if rng.random() < 0.5 else draw.rectangle
            shape((box[0][0], box[1][0], box[0][1] + 1, box[1][1] + 1), outline=colour, width=3)
        out[f"drawing {i}"] = drawing if i < 3 else drawing.convert("L")
    return out


def packaged_ood_images(dicoms: dict[str, Scan] | None = None) -> dict[str, Image.Image]:
    """Photographs from scikit-learn and non-brain DICOMs from pydicom (when installed).

    Args:
        dicoms: the files of :func:`packaged_dicoms`, when the caller has read them already.
    """
    from sklearn.datasets import load_sample_images

    out: dict[str, Image.Image] = {}
    for name, pixels in zip(("china", "flower"), load_sample_images().images):
        photo = Image.fromarray(pixels)
        out[f"photo {name}"] = photo
        out[f"photo {name} grey"] = photo.convert("L")
        out[f"photo {name} crop grey"] = photo.crop((100, 50, 400, 350)).convert("L")
    dicoms = packaged_dicoms() if dicoms is None else dicoms
    out.update({name: scan.slice() for name, scan in dicoms.items()})
    return out


# Every modality the app refuses by its tag, plus those left to the pixel checks.
NON_MR_MODALITIES = set(OTHER_IMAGING_MODALITIES) | {"OT", "SC"}


def packaged_dicoms(max_hash_distance: int = 8) -> dict[str, Scan]:
    """Non-MR DICOM files among pydicom's bundled test files, read as the app reads uploads.

    pydicom ships one picture in several encodings; near-identical pictures
    (perceptual hashes within ``max_hash_distance`` bits) are kept once.
    """
    try:
        import pydicom
    except ImportError:
        return {}
    import imagehash

    out: dict[str, Scan] = {}
    seen: list = []
    for path in sorted((Path(pydicom.__file__).parent / "data" / "test_files").glob("*.dcm")):
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # pydicom's test files are deliberately odd
                modality = pydicom.dcmread(path, stop_before_pixels=True).get("Modality")
                if modality not in NON_MR_MODALITIES:
                    continue
                scan = load_scan(path)
                image = scan.slice()
        except Exception:  # undecodable or broken test file: not needed here
            continue
        fingerprint = imagehash.phash(image.convert("L"))
        if any(fingerprint - other <= max_hash_distance for other in seen):
            continue
        seen.append(fingerprint)
        out[f"dicom {modality} {path.name}"] = scan
    return out


def tensor_features(clf: Classifier, images: torch.Tensor, batch_size: int = 64) -> np.ndarray:
    """Penultimate features of stage-1 uint8 images ``(N, S, S)``."""
    return np.concatenate([clf.run_squares(images[i:i + batch_size]).features for i in range(0, len(images), batch_size)])


def cross_fitted_guard(features: np.ndarray, labels: np.ndarray, quantile: float, seed: int = 0) -> FeatureGuard:
    """Guard fitted on all features, threshold from 2-fold out-of-fold scores."""
    fold = np.random.default_rng(seed).permutation(len(features)) % 2 == 0
    scores = np.concatenate([
        fit_guard(features[fold], labels[fold], features[fold]).score(features[~fold]),
        fit_guard(features[~fold], labels[~fold], features[~fold]).score(features[fold]),
    ])
    guard = fit_guard(features, labels, features)
    guard.threshold = float(np.quantile(scores, quantile))
    return guard


def rejection(clf: Classifier, images: list[Image.Image], batch_size: int = 64) -> np.ndarray:
    """Boolean ``(N,)``: which images the classifier refuses as not brain MRI."""
    return np.concatenate([~clf.is_brain_mri(images[i:i + batch_size]) for i in range(0, len(images), batch_size)])


def fit_and_measure(checkpoint: Path, data: Path, quantile: float, cache_dir: str | None) -> dict:
    """Fit the feature guard on Training, measure it, and store guard and figures in the checkpoint."""
    clf = load_classifier(checkpoint)
    train = index_folder(data / "Training", clf.classes)
    features = tensor_features(clf, cached_decode(train, clf.spec, cache_dir))
    clf.guard = cross_fitted_guard(features, train.labels, quantile)
    report = {"quantile": quantile, **measure(clf, data)}
    tensors, meta = load_checkpoint(checkpoint)
    weights, _ = split_guard_tensors(tensors)
    meta["ood"] = {k: v for k, v in report.items() if not isinstance(v, list)}
    save_checkpoint(checkpoint, {**weights, **clf.guard.to_tensors()}, meta)
    return report


def measure(clf: Classifier, data: Path) -> dict:
    """Share of Testing MRIs and of the out-of-distribution set that ``clf`` (guard and pixel checks) refuses."""
    if clf.guard is None:
        raise ValueError("this checkpoint has no feature guard: run without --measure-only to fit one")
    testing = index_folder(data / "Testing", clf.classes)
    test_rejected = rejection(clf, [Image.open(p) for p in testing.paths])
    dicoms = packaged_dicoms()
    ood = {**synthetic_ood_images(), **packaged_ood_images(dicoms)}
    by_pixels = rejection(clf, list(ood.values()))
    # As in the app: a DICOM whose Modality tag names another kind of imaging is refused outright.
    by_file = {name for name, scan in dicoms.items() if scan.problem}
    ood_rejected = by_pixels | np.array([name in by_file for name in ood])
    return {
        "threshold": clf.guard.threshold,
        "testing_images": len(testing), "testing_rejected": int(test_rejected.sum()),
        "testing_rejected_rate": float(test_rejected.mean()),
        "ood_images": len(ood), "ood_rejected": int(ood_rejected.sum()),
        "ood_rejected_rate": float(ood_rejected.mean()),
        "ood_rejected_by_pixels": int(by_pixels.sum()), "ood_rejected_by_file_tags": len(by_file),
        "ood_accepted_names": [n for n, r in zip(ood, ood_rejected) if not r],
        "testing_rejected_names": [n for n, r in zip(testing.names, test_rejected) if r],
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_report_flags(parser, OOD)
    parser.add_argument("--data", default=str(KAGGLE_DIR))
    parser.add_argument("--quantile", type=float, default=0.999,
                        help="share of held-out Training MRIs the guard must accept")
    parser.add_argument("--cache-dir", default=str(CACHE_DIR))
    parser.add_argument("--measure-only", action="store_true",
                        help="keep the checkpoint's guard and metadata as they are; only measure and write the report")
    args = parser.parse_args(argv)
    if args.measure_only:
        clf = load_classifier(args.checkpoint)
        try:
            report = {"quantile": read_metadata(args.checkpoint).get("ood", {}).get("quantile"),
                      **measure(clf, Path(args.data))}
        except ValueError as err:
            parser.error(str(err))
    else:
        report = fit_and_measure(Path(args.checkpoint), Path(args.data), args.quantile, cache_dir_arg(args.cache_dir))
    out = write_json(report_path(args, OOD), OOD.check(report))
    print(f"OOD images rejected: {report['ood_rejected']}/{report['ood_images']} "
          f"({percent(report['ood_rejected_rate'], 1)}; {report['ood_rejected_by_pixels']} by the pixel checks, "
          f"{report['ood_rejected_by_file_tags']} DICOMs by their Modality tag); "
          f"Testing MRIs rejected: {report['testing_rejected']}/{report['testing_images']} "
          f"({percent(report['testing_rejected_rate'])})")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
