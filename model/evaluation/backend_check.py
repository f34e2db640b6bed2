"""Does a faster backend keep the answers? Every backend against PyTorch fp32 on all of Kaggle Testing.

    python -m model backends --checkpoint model/weights/resnet50.safetensors

Runs the checkpoint's trunk each way :mod:`model.classifier.backends` offers (PyTorch fp32 and bf16,
ONNX Runtime fp32 and int8) on the 1,311 Testing images and writes ``<checkpoint>.backends.json``: per
backend, the answers it changes (every one listed), the largest change of a probability, its
images per second at batch 32 on this machine, and whether it passes (at most
``TOLERANCE_ANSWERS`` changed answers). A classifier uses a reduced-precision backend (bf16, int8) only
where this file says it passes; the per-machine choice among the rest is made at run time.

The checkpoint's ONNX graph, which the app answers with (:mod:`model.classifier.graph`: the
preprocessing's second stage and the whole network in ONNX Runtime fp32), gets a row of its own,
``app-onnx-graph``, measured the same way.
"""
from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

import torch
from torch import nn

from ..classifier.backend_choice import TOLERANCE_ANSWERS, machine_facts
from ..classifier.backend_runtime import calibration_pictures
from ..classifier.backends import CANDIDATES, REFERENCE, build_runner, unsupported_here
from ..classifier.factory import split_at_cam_layer
from ..classifier.graph import ClassifierGraph
from ..classifier.inference import Classifier, load_classifier
from ..classifier.preprocess import uint8_to_float
from ..data.folders import cache_dir_arg, cached_decode, index_folder
from ..paths import CACHE_DIR, KAGGLE_TESTING
from ..results import BACKENDS, add_report_flags, report_path, write_report

__all__ = ["APP_GRAPH", "check_backends", "graph_probabilities", "main"]

#: The row of the checkpoint's ONNX graph (what the app serves) in ``<checkpoint>.backends.json``.
APP_GRAPH = "app-onnx-graph"


@torch.inference_mode()
def probabilities(network: nn.Module, squares: torch.Tensor, clf: Classifier, batch: int = 32) -> tuple:
    """Calibrated probabilities of every image, and the images per second, at batch ``batch``."""
    chunks, seconds = [], 0.0
    for start in range(0, len(squares), batch):
        pictures = clf.spec.normalise(uint8_to_float(squares[start:start + batch]))
        started = time.perf_counter()
        logits = network(pictures.contiguous(memory_format=torch.channels_last))
        seconds += time.perf_counter() - started
        chunks.append(torch.softmax(logits.float() / clf.temperature, dim=1))
    return torch.cat(chunks), len(squares) / seconds


def graph_probabilities(graph: ClassifierGraph, squares: torch.Tensor, clf: Classifier, batch: int = 32) -> tuple:
    """:func:`probabilities` for the checkpoint's ONNX graph, which takes the stage-1 crops themselves."""
    chunks, seconds = [], 0.0
    for start in range(0, len(squares), batch):
        started = time.perf_counter()
        logits = graph(squares[start:start + batch].numpy()).logits
        seconds += time.perf_counter() - started
        chunks.append(torch.from_numpy(clf.probabilities(logits)))
    return torch.cat(chunks), len(squares) / seconds


def _compared(probs: torch.Tensor, speed: float, reference: torch.Tensor, reference_speed: float,
              names: list[str]) -> dict:
    changed = (probs.argmax(1) != reference.argmax(1)).nonzero().flatten().tolist()
    return {"changed_answers": len(changed), "changed": [names[i] for i in changed],
            "max_probability_change": float((probs - reference).abs().max()),
            "images_per_second": speed, "speed_vs_torch_fp32": speed / reference_speed,
            "passes": len(changed) <= TOLERANCE_ANSWERS}


def check_backends(clf: Classifier, squares: torch.Tensor, names: list[str], workdir: Path,
                   graph: ClassifierGraph | None = None) -> dict:
    """Each backend's answers on ``squares`` (stage-1 crops) against PyTorch fp32's, and the
    checkpoint's ONNX graph's where ``graph`` is given."""
    trunk, head = split_at_cam_layer(clf.model, clf.arch)
    calibration = calibration_pictures(clf.spec).float().numpy()
    reference, reference_speed = probabilities(clf.model, squares, clf)
    rows = {REFERENCE: {"changed_answers": 0, "changed": [], "max_probability_change": 0.0,
                        "images_per_second": reference_speed, "passes": True}}
    for name in CANDIDATES[1:]:
        if unsupported_here(name):
            rows[name] = {"skipped": unsupported_here(name)}
            continue
        network = nn.Sequential(build_runner(name, trunk, clf.spec.input_size, workdir, calibration), head)
        rows[name] = _compared(*probabilities(network, squares, clf), reference, reference_speed, names)
    if graph is not None:
        rows[APP_GRAPH] = _compared(*graph_probabilities(graph, squares, clf), reference, reference_speed, names)
    return rows


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_report_flags(parser, BACKENDS)
    parser.add_argument("--testing", type=Path, default=KAGGLE_TESTING, help="a folder of class folders")
    parser.add_argument("--cache-dir", default=str(CACHE_DIR), help="decoded-image cache ('none': off)")
    args = parser.parse_args(argv)
    torch.set_num_threads(os.cpu_count() or 1)
    clf = load_classifier(args.checkpoint, backends=False)
    index = index_folder(args.testing, clf.classes)
    squares = cached_decode(index, clf.spec, cache_dir_arg(args.cache_dir))
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as workdir:  # fresh ONNX files, not a machine cache's
        rows = check_backends(clf, squares, index.names, Path(workdir), ClassifierGraph.open(args.checkpoint))
    report = {"checkpoint": args.checkpoint.name, "images": len(index), "tolerance_changed_answers": TOLERANCE_ANSWERS,
              "reference": REFERENCE, "backends": rows, "machine": machine_facts(),
              "seconds": time.perf_counter() - started, "command": "python -m model backends",
              "date": time.strftime("%Y-%m-%d")}
    for name, row in rows.items():
        print(f"  {name:18s} " + ("skipped: " + row["skipped"] if "skipped" in row else
                                  f"changed {row['changed_answers']} answers, {row['images_per_second']:.1f} img/s"
                                  f" at batch 32, {'passes' if row['passes'] else 'REFUSED'}"))
    write_report(report_path(args, BACKENDS), report, BACKENDS)


if __name__ == "__main__":
    main()
