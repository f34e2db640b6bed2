"""Time the bundled classifier on this machine and print ratios from one run.

    python benchmarks/latency.py [--repeats 20]

Measures, for the classifier the app serves (``load_app_classifier``: the ONNX graph) and for the
PyTorch classifier the commands use (``load_classifier``: the backend measured fastest on this machine,
``model.classifier.backend_choice``; the choice is measured first, or read from this machine's cache):
load time, one prediction (batch 1), one prediction + Grad-CAM (what the Diagnose page does per
upload), the same with LayerCAM (the page's other heat map) and batch-32 throughput, each beside its
target (issue "Fast on whatever CPU").
"""
from __future__ import annotations

import argparse
import platform
import sys
import time
from pathlib import Path

import torch
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from model import load_app_classifier, load_classifier  # noqa: E402
from model.classifier.heat_map_methods import heat_map_method  # noqa: E402
from model.classifier.preprocess import uint8_to_float  # noqa: E402
from model.evaluation.latency import cpu_model, median_seconds  # noqa: E402
from model.views.catalog import bundled_samples  # noqa: E402

#: The issue's bars: model time of prediction + Grad-CAM, and warm batch-32 throughput from PIL images.
GRADCAM_MODEL_MS, BATCH_IMAGES_PER_S = 25.0, 80.0


def model_time_of_gradcam(clf, image, repeats: int) -> float:
    """Seconds of the network alone for one prediction + Grad-CAM: the picture is cropped beforehand."""
    square, _ = clf.spec.to_square_grey(image)
    batch = clf.spec.normalise(uint8_to_float(square[None])).contiguous(memory_format=torch.channels_last)
    from model.classifier.gradcam import heat_map_explainer

    def run():
        with clf._lock, heat_map_explainer(clf.model, clf.arch, "Grad-CAM", clf.backends.split_network) as cam:
            cam(batch)
    return median_seconds(run, repeats=repeats)


def model_time_of_graph_gradcam(clf, image, repeats: int) -> float:
    """The same for the app's graph classifier: the graph's pass, then Grad-CAM through its PyTorch head."""
    square, _ = clf.spec.to_square_grey(image)
    clf.heat_map(image, 0)  # builds the head
    method = heat_map_method("Grad-CAM")
    return median_seconds(lambda: clf._heat_maps(clf.graph(square[None]).activations, None, method), repeats=repeats)


def print_app_classifier(images: list, batch: list, repeats: int) -> None:
    """The figures of the classifier the app serves."""
    started = time.perf_counter()
    clf = load_app_classifier()
    load_s = time.perf_counter() - started
    print(f"app classifier: {type(clf).__name__} ({clf.arch} at {clf.spec.input_size} px), opened in {load_s * 1000:.0f} ms")
    if not hasattr(clf, "graph"):
        print("  (no ONNX graph beside the checkpoint: the app serves the PyTorch classifier below)")
        return
    one = median_seconds(lambda: clf.predict_proba(images[:1]), repeats=repeats)
    explain = median_seconds(lambda: clf.explain(images[0]), repeats=repeats)
    network_only = model_time_of_graph_gradcam(clf, images[0], repeats)
    many = median_seconds(lambda: clf.predict_proba(batch), repeats=max(3, repeats // 5))
    print(f"  predict, batch 1:              {one * 1000:8.1f} ms/image")
    print(f"  predict + Grad-CAM, batch 1:   {explain * 1000:8.1f} ms/image (crop, guard and map included)")
    print(f"    of which the network:        {network_only * 1000:8.1f} ms {mark(network_only * 1000, GRADCAM_MODEL_MS)}")
    print(f"  predict, batch 32 PIL images:  {many / len(batch) * 1000:8.1f} ms/image ({len(batch) / many:.1f} images/s, "
          f"cropping included) {mark(len(batch) / many, BATCH_IMAGES_PER_S, higher_is_better=True)}")


def mark(value: float, target: float, higher_is_better: bool = False) -> str:
    met = value >= target if higher_is_better else value <= target
    return f"(target {'>=' if higher_is_better else '<='} {target:g}: {'meets it' if met else 'MISSES it'})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeats", type=int, default=20)
    args = parser.parse_args()
    images = [Image.open(s.path).convert("RGB") for s in bundled_samples()]
    batch = (images * 8)[:32]
    print(f"machine: {cpu_model()} ({platform.machine()}), {torch.get_num_threads()} threads, torch {torch.__version__}")
    print_app_classifier(images, batch, args.repeats)
    started = time.perf_counter()
    clf = load_classifier()
    load_s = time.perf_counter() - started
    started = time.perf_counter()
    clf.backends.choose_now()  # what a first large batch does; the app does it after its first heat map
    choice_s, choice = time.perf_counter() - started, clf.backends.choice
    one = median_seconds(lambda: clf.predict_proba(images[:1]), repeats=args.repeats)
    explain = median_seconds(lambda: clf.explain(images[0]), repeats=args.repeats)
    network_only = model_time_of_gradcam(clf, images[0], args.repeats)
    layercam = median_seconds(lambda: clf.explain(images[0], method="LayerCAM"), repeats=args.repeats)
    many = median_seconds(lambda: clf.predict_proba(batch), repeats=max(3, args.repeats // 5))
    print(f"PyTorch classifier (the commands'): {clf.arch} at {clf.spec.input_size} px; "
          f"CPU flags {', '.join(choice.machine.get('flags', [])) or 'not read'}")
    print(f"backend: {choice.single} for one picture, {choice.batch} for batches "
          f"({'read from this machine' + chr(39) + 's cache' if choice.from_cache else 'measured now'} in {choice_s:.1f} s)")
    for name, row in choice.candidates.items():
        timing = (f"{row['ms_batch_1']:.1f} ms at batch 1, {row['ms_batch_8']:.1f} ms at batch 8, "
                  f"{row['same_answers']:.0%} of calibration answers kept" if "ms_batch_1" in row else "")
        print(f"  {name:18s} {timing}{'; refused: ' + row['refused'] if row.get('refused') else ''}")
    print(f"load checkpoint:                 {load_s * 1000:8.1f} ms")
    print(f"predict, batch 1:                {one * 1000:8.1f} ms/image")
    print(f"predict + Grad-CAM, batch 1:     {explain * 1000:8.1f} ms/image (crop, guard and map included)")
    print(f"  of which the network:          {network_only * 1000:8.1f} ms {mark(network_only * 1000, GRADCAM_MODEL_MS)}")
    print(f"predict + LayerCAM, batch 1:     {layercam * 1000:8.1f} ms/image")
    print(f"predict, batch 32 PIL images:    {many / len(batch) * 1000:8.1f} ms/image "
          f"({len(batch) / many:.1f} images/s, cropping included) "
          f"{mark(len(batch) / many, BATCH_IMAGES_PER_S, higher_is_better=True)}")
    print(f"ratio Grad-CAM upload / predict:  {explain / one:.2f}x")
    print(f"ratio LayerCAM upload / Grad-CAM upload: {layercam / explain:.2f}x")
    print(f"ratio batch-32 / batch-1 throughput: {(len(batch) / many) / (1 / one):.2f}x")


if __name__ == "__main__":
    main()
