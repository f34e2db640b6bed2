"""Time our classifier against the reference PyPI classifier `detect-tumor`, on the same images, in one run.

    pip install detect-tumor        # optional: without it only our figures are printed
    python benchmarks/peer.py [--repeats 5]

detect-tumor (https://pypi.org/project/detect-tumor/) is a VGG16 brain-MRI classifier run
with ONNX Runtime at 240x240 px; its weights ship inside the wheel, so it works offline.
Both models see the bundled sample MRIs (assets/samples) one image at a time (batch 1);
each figure is the median ms/image over ``repeats`` passes over the samples, after one
warm-up pass. Each library keeps its default threading (torch and ONNX Runtime both use
the machine's cores). detect-tumor has no heat map, so its prediction is compared both
with our prediction and with our prediction + Grad-CAM (what one upload to the app costs).
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from importlib.metadata import version
from pathlib import Path

from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from app_startup import machine_facts  # noqa: E402  (benchmarks/ is on sys.path when run as a script)

from model import load_classifier  # noqa: E402
from model.views.catalog import bundled_samples  # noqa: E402

INSTALL_HINT = "pip install detect-tumor to compare"


def ms_per_image(fns: dict[str, Callable[[Image.Image], object]], images: list[Image.Image],
                 repeats: int) -> dict[str, float]:
    """Median milliseconds of each ``fn(image)``, one image at a time, after a warm-up pass.

    The functions take turns, one pass over the images each, ``repeats`` rounds: a busy
    machine slows them alike, so the ratios stay meaningful when the absolute figures do not.
    (Turns per pass, not per image: ONNX Runtime's threads keep spinning for a while after
    each run and would slow whichever torch call came straight after it.)
    """
    for fn in fns.values():
        for image in images:
            fn(image)
    times: dict[str, list[float]] = {name: [] for name in fns}
    for _ in range(repeats):
        for name, fn in fns.items():
            for image in images:
                start = time.perf_counter()
                fn(image)
                times[name].append(time.perf_counter() - start)
    return {name: statistics.median(t) * 1000 for name, t in times.items()}


def timed(fn: Callable[[], object]) -> tuple[object, float]:
    start = time.perf_counter()
    result = fn()
    return result, (time.perf_counter() - start) * 1000


def load_peer(first_image: Image.Image):
    """``(detector, ms to load + first prediction)``, or ``(None, reason)`` when it cannot run here."""
    try:
        import detect_tumor
    except ImportError:
        return None, f"detect-tumor is not installed: {INSTALL_HINT}."
    try:
        detector, load_ms = timed(detect_tumor.TumorDetector)
        _, first_ms = timed(lambda: detector.predict(first_image))  # builds the ONNX session
    except detect_tumor.DetectTumorError as err:
        return None, (f"detect-tumor is installed but cannot run: {err}. If it needs weights from the internet, "
                      "they cannot be fetched on this machine (only package registries are reachable).")
    except OSError as err:
        return None, f"detect-tumor could not read or download its weights ({err}); is the machine offline?"
    return detector, load_ms + first_ms


def agreement(clf, detector, samples, images) -> list[str]:
    """Per sample: folder label, our answer, the peer's answer (for information; 4 images prove nothing)."""
    ours = clf.predict_proba(images).argmax(axis=1)
    rows = []
    for sample, image, index in zip(samples, images, ours):
        peer = detector.predict(image) if detector is not None else None
        peer_text = f"{peer.predicted_class} ({peer.confidence:.1f}%)" if peer is not None else "-"
        rows.append(f"  {sample.path.name:22s} label {sample.label:11s} ours {clf.classes[index]:11s} "
                    f"detect-tumor {peer_text}")
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=5, help="passes over the sample images (default 5)")
    args = parser.parse_args()
    print(machine_facts())
    samples = bundled_samples()
    images = [Image.open(s.path).convert("RGB") for s in samples]
    clf, ours_load = timed(lambda: load_classifier())
    _, first = timed(lambda: clf.predict_proba(images[:1]))
    detector, peer_load = load_peer(images[0])
    print(f"images: {len(images)} bundled samples x {args.repeats} passes, batch 1, in turns")
    fns = {"predict": lambda im: clf.predict_proba([im]), "explain": clf.explain}
    if detector is not None:
        fns["peer"] = detector.predict
    ms = ms_per_image(fns, images, args.repeats)
    print(f"ours ({clf.arch}, {clf.spec.input_size} px, PyTorch) load + first prediction: "
          f"{ours_load + first:.1f} ms")
    print(f"ours predict, batch 1:                 {ms['predict']:8.1f} ms/image")
    print(f"ours predict + Grad-CAM, batch 1:      {ms['explain']:8.1f} ms/image")
    if detector is None:
        print(f"detect-tumor: not measured. {peer_load}")
    else:
        print(f"detect-tumor {version('detect-tumor')} (VGG16, 240 px, ONNX Runtime {version('onnxruntime')}) "
              f"load + first prediction: {peer_load:.1f} ms")
        print(f"detect-tumor predict, batch 1:         {ms['peer']:8.1f} ms/image")
        print(f"ratio detect-tumor / ours, predict:            {ms['peer'] / ms['predict']:6.2f}x")
        print(f"ratio detect-tumor predict / ours + Grad-CAM:  {ms['peer'] / ms['explain']:6.2f}x")
    print("answers on the samples (information only):")
    print("\n".join(agreement(clf, detector, samples, images)))


if __name__ == "__main__":
    main()
