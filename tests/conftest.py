"""Shared fixtures: tiny synthetic data and checkpoints, built in seconds, offline."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile

# Before the package is imported (model.paths reads these once): the tests, and the app and browser tests'
# servers, never read or write the machine's engine choices (python -m model backends).
os.environ["BRAIN_MRI_BACKEND_CACHE"] = tempfile.mkdtemp(prefix="brain-mri-backends-")
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image, ImageDraw

from model import create_model, load_classifier, save_checkpoint
from model.classifier.preprocess import PreprocessSpec
from model.paths import REPO_ROOT
from model.views.catalog import bundled_samples

CLASSES = ["glioma", "meningioma", "notumor", "pituitary"]
TINY_SPEC = PreprocessSpec(input_size=32, stage_size=40)


def synthetic_mri(label: int, seed: int, size: int = 64) -> Image.Image:
    """A grey 'head' (ellipse) with a bright blob whose position encodes the class."""
    rng = np.random.default_rng(seed)
    im = Image.new("L", (size, size))
    draw = ImageDraw.Draw(im)
    m = size // 8
    draw.ellipse((m, m, size - m, size - m), fill=int(rng.integers(70, 110)))
    if label != 2:  # class 2 ("notumor") has no blob
        cx, cy = [(0.35, 0.35), (0.65, 0.35), None, (0.5, 0.7)][label]
        r = size // 8
        draw.ellipse((cx * size - r, cy * size - r, cx * size + r, cy * size + r), fill=240)
    noise = rng.normal(0, 6, (size, size))
    return Image.fromarray(np.clip(np.asarray(im, float) + noise, 0, 255).astype(np.uint8))


def write_dataset(root: Path, per_class: int, seed: int = 0) -> Path:
    for label, name in enumerate(CLASSES):
        (root / name).mkdir(parents=True, exist_ok=True)
        for i in range(per_class):
            synthetic_mri(label, seed * 10_000 + label * 1000 + i).save(root / name / f"{name}_{i:03d}.png")
    return root


def smooth_random_image(seed: int) -> Image.Image:
    """A distinct, natural-looking picture: random low-frequency structure."""
    coarse = (np.random.default_rng(seed).random((6, 6)) * 255).astype(np.uint8)
    return Image.fromarray(coarse).resize((96, 96), Image.BICUBIC)


def write_distinct_dataset(root, per_class: int, seed: int) -> None:
    for c, name in enumerate(CLASSES):
        (root / name).mkdir(parents=True)
        for i in range(per_class):
            smooth_random_image(seed * 1000 + c * 100 + i).save(root / name / f"{name}_{i:03d}.png")


def python_output(code: str, timeout: int = 300) -> str:
    """``code`` run by a fresh interpreter in the repository (what a cold server has imported is then
    only what the code imports); its standard output. Fails the test when it fails."""
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO_ROOT, timeout=timeout)
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


@pytest.fixture(scope="session")
def tiny_dataset(tmp_path_factory) -> Path:
    """``root/Training/<class>/*.png`` and ``root/Testing/<class>/*.png``, with one planted duplicate."""
    root = tmp_path_factory.mktemp("tiny")
    write_dataset(root / "Training", per_class=16, seed=0)
    write_dataset(root / "Testing", per_class=6, seed=1)
    shutil.copy(root / "Training/glioma/glioma_000.png", root / "Training/glioma/glioma_dup.png")
    return root


@pytest.fixture(scope="session")
def tiny_checkpoint(tmp_path_factory) -> Path:
    """An untrained ResNet18 at 32 px, saved with full metadata."""
    torch.manual_seed(0)
    model = create_model("resnet18", len(CLASSES))
    path = tmp_path_factory.mktemp("ckpt") / "tiny.safetensors"
    save_checkpoint(path, model.state_dict(), {
        "arch": "resnet18", "classes": CLASSES, "preprocess": TINY_SPEC.to_dict(),
        "train_config": {"epochs": 0}, "data_fingerprint": "synthetic", "trained_from_scratch": True,
    })
    return path


@pytest.fixture(scope="session")
def bundled():
    """The shipped ResNet50, loaded once for the whole session."""
    return load_classifier()


@pytest.fixture(scope="session")
def samples():
    found = bundled_samples()
    assert len(found) >= 4, "assets/samples should hold at least one MRI per class"
    return found


@pytest.fixture(scope="session")
def sample_dicom_bytes() -> bytes:
    """A single-frame MR DICOM (16-bit, rescale + window, fake patient tags) of ``pituitary_1.jpg``."""
    from .scan_builders import build_dicom_bytes

    return build_dicom_bytes()


@pytest.fixture(scope="session")
def sample_nifti_path(tmp_path_factory) -> Path:
    """A small ``.nii.gz`` volume whose middle axial slice is ``pituitary_1.jpg``."""
    from .scan_builders import write_nifti

    return write_nifti(tmp_path_factory.mktemp("nifti") / "pituitary_1.nii.gz")


@pytest.fixture(scope="module")
def server():
    """A real `streamlit run streamlit_app.py` for the browser tests of one module; yields its URL."""
    from benchmarks.browser_utils import ServerDidNotStart, streamlit_server

    try:
        with streamlit_server() as (url, _proc):
            yield url
    except ServerDidNotStart as err:
        pytest.fail(str(err))
