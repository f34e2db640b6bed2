"""Every file location the package uses, resolved from this file, never from the working directory.

The data sets live beside the repository (``../shared/data``); ``BRAIN_MRI_DATA`` moves them,
``BRAIN_MRI_COMPARISON_DIR`` moves the comparison result files.
"""
from __future__ import annotations

import os
from pathlib import Path

__all__ = [
    "ASSETS_DIR", "AUDIT_REPORT", "BACKEND_CACHE_DIR", "BACKEND_CACHE_ENV", "CACHE_DIR", "COMPARISON_DIR", "COMPARISON_DIR_ENV", "CT_LIKE_DIR",
    "CT_LIKE_REPORT", "DATA_ENV", "DATA_ROOT", "DEFAULT_CHECKPOINT", "DUPLICATES_DIR", "EXTERNAL_DIR",
    "EXTERNAL_SPLITS", "HEAT_MAP_OUTLINES_DIR", "KAGGLE_DIR", "KAGGLE_MASKS_DIR",
    "KAGGLE_TESTING", "MISTAKES_DIR", "REPO_ROOT", "RUNS_DIR", "SAMPLES_DIR", "STRESS_REPORT", "TOUR_FILE", "WEIGHTS_DIR",
    "bundled_checkpoints", "comparison_dir", "graph_file", "result_file",
]

PACKAGE_DIR = Path(__file__).resolve().parent
REPO_ROOT = PACKAGE_DIR.parent

#: The bundled checkpoints and the result files committed beside them.
WEIGHTS_DIR = PACKAGE_DIR / "weights"
DEFAULT_CHECKPOINT = WEIGHTS_DIR / "resnet50.safetensors"
AUDIT_REPORT = WEIGHTS_DIR / "audit.json"
CT_LIKE_REPORT = WEIGHTS_DIR / "ct_like.json"
STRESS_REPORT = WEIGHTS_DIR / "stress.json"
COMPARISON_DIR_ENV = "BRAIN_MRI_COMPARISON_DIR"
COMPARISON_DIR = WEIGHTS_DIR / "comparison"

#: Pictures the pages show: sample MRIs and the thumbnails the audits write.
ASSETS_DIR = REPO_ROOT / "assets"
SAMPLES_DIR = ASSETS_DIR / "samples"
DUPLICATES_DIR = ASSETS_DIR / "duplicates"
MISTAKES_DIR = ASSETS_DIR / "mistakes"
#: Three Testing slices with the bundled model's heat map and the hand-drawn outline over it.
HEAT_MAP_OUTLINES_DIR = ASSETS_DIR / "heat_map_outlines"
CT_LIKE_DIR = ASSETS_DIR / "ct_like"
#: The Diagnose page's guided tour: its stops and the pictures beside them.
TOUR_FILE = ASSETS_DIR / "tour" / "tour.json"

#: Data sets (never committed), training runs and the decoded-image cache (both git-ignored).
DATA_ENV = "BRAIN_MRI_DATA"
DATA_ROOT = Path(os.environ.get(DATA_ENV) or REPO_ROOT.parent / "shared" / "data")
KAGGLE_DIR = DATA_ROOT / "brain-tumor-mri"
KAGGLE_TESTING = KAGGLE_DIR / "Testing"
#: Hand-drawn tumour outlines for most Kaggle tumour images (from Figshare; its README and manifest.csv).
KAGGLE_MASKS_DIR = DATA_ROOT / "brain-tumor-mri-masks"
#: Scans from other sources (a manifest-described set) and its committed case-grouped split.
EXTERNAL_DIR = DATA_ROOT / "feltrin-44-dev"
EXTERNAL_SPLITS = PACKAGE_DIR / "splits" / "feltrin-44-dev"
RUNS_DIR = REPO_ROOT / "runs"
CACHE_DIR = REPO_ROOT / ".cache"
#: Per machine: which engine python -m model backends measured fastest here (``model.classifier.engines.choice``).
BACKEND_CACHE_ENV = "BRAIN_MRI_BACKEND_CACHE"
BACKEND_CACHE_DIR = Path(os.environ.get(BACKEND_CACHE_ENV)
                         or Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "brain-mri-backends")


def result_file(checkpoint: str | Path, kind: str) -> Path:
    """``name.<kind>.json`` beside ``name.safetensors``: where a command keeps a checkpoint's results."""
    return Path(checkpoint).with_suffix(f".{kind}.json")


def graph_file(checkpoint: str | Path) -> Path:
    """``name.onnx`` beside ``name.safetensors``: the checkpoint's ONNX graph (``model.classifier.engines.graph``)."""
    return Path(checkpoint).with_suffix(".onnx")


def comparison_dir() -> Path:
    """Where the comparison result files are read from: ``$BRAIN_MRI_COMPARISON_DIR`` or the bundled folder."""
    return Path(os.environ.get(COMPARISON_DIR_ENV) or COMPARISON_DIR)


def bundled_checkpoints() -> list[Path]:
    """Every checkpoint shipped in ``model/weights``."""
    return sorted(WEIGHTS_DIR.glob("*.safetensors"))
