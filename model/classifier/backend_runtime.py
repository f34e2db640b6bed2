"""A classifier's backends at run time: PyTorch fp32 until the choice is made, then the chosen networks.

The choice (:mod:`model.classifier.backend_choice`) is made once per machine and checkpoint: on the
first large batch (the command-line tools), or by :meth:`TrunkBackends.choose_in_background`, which
measures in a child process (``python -m model.classifier.measure_backends CHECKPOINT``): exporting and
quantising the network takes hundreds of MiB for a moment, which the caller's memory never sees; the
caller then opens the chosen backend from the files the child left in the machine's cache. (The app
keeps PyTorch fp32: ``docs/speed.md``.) ``BRAIN_MRI_BACKEND=<name>`` skips the
measurement and uses that backend (``torch-fp32`` keeps everything in PyTorch, as the tests do).
"""
from __future__ import annotations

import atexit
import json
import logging
import os
import subprocess
import sys
import threading
from contextlib import AbstractContextManager, nullcontext
from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageOps
from torch import nn

from ..paths import BACKEND_CACHE_DIR, BACKEND_CACHE_ENV, MISTAKES_DIR, SAMPLES_DIR
from ..results import BACKENDS
from .backend_choice import (BackendChoice, allowed_by_check, fastest, machine_facts, machine_key, measure_backends,
                             read_choice, write_choice)
from .backends import CANDIDATES, ONNX_FILES, REFERENCE, Bf16Trunk, build_runner
from .factory import SPLITTABLE, split_at_cam_layer
from .preprocess import PreprocessSpec

__all__ = ["BACKEND_ENV", "CHILD_MODULE", "TrunkBackends", "calibration_pictures"]

log = logging.getLogger(__name__)
BACKEND_ENV = "BRAIN_MRI_BACKEND"
#: The child process that measures (``python -m model.classifier.measure_backends``).
CHILD_MODULE = "model.classifier.measure_backends"
#: The child that measures gives up after this long (a very slow machine keeps PyTorch fp32).
CHILD_TIMEOUT_S = 600


def calibration_pictures(spec: PreprocessSpec) -> torch.Tensor:
    """The bundled sample pictures and those of the model's mistakes, each also mirrored, network-ready."""
    paths = sorted(p for folder in (SAMPLES_DIR, MISTAKES_DIR) for p in folder.glob("*")
                   if p.suffix.lower() in (".jpg", ".jpeg", ".png"))
    images = []
    for path in paths:
        with Image.open(path) as im:
            images += [im.convert("L"), ImageOps.mirror(im.convert("L"))]
    return spec(images).contiguous(memory_format=torch.channels_last)


class TrunkBackends:
    """The networks a classifier runs for one picture and for batches, and how they were chosen.

    Args:
        model: the classifier's network (eval mode); its modules are shared, never copied.
        lock: the classifier's lock, held around every call that runs ``model``'s modules, so the
            measurement never interleaves with the hooks of an answer being computed.
        enabled: ``False`` keeps PyTorch fp32 for good.
    """

    def __init__(self, model: nn.Module, arch: str, spec: PreprocessSpec, checkpoint: Path | None,
                 lock: AbstractContextManager | None = None, enabled: bool = True):
        self.model, self.spec, self.checkpoint = model, spec, checkpoint
        self.single_network: nn.Module = model
        self.batch_network: nn.Module = model
        self.choice = BackendChoice()
        self._lock = lock or nullcontext()
        self._state_lock = threading.Lock()
        usable = enabled and arch in SPLITTABLE and checkpoint is not None
        self.state = "pending" if usable else "off"  # pending → choosing → ready (or off)
        self._trunk, self._head = split_at_cam_layer(model, arch) if usable else (None, None)

    @property
    def split_network(self) -> nn.Sequential | None:
        """The one-picture network as (trunk runner, head) when a backend other than PyTorch fp32 runs it,
        for Grad-CAM on the runner's output; else ``None`` (Grad-CAM hooks the network's own block)."""
        return self.single_network if isinstance(self.single_network, nn.Sequential) else None

    def choose_now(self) -> None:
        """Make the choice in this thread, unless it is made or being made."""
        if self._claim():
            self._choose()

    def choose_in_background(self) -> None:
        """Measure in a child process, then use its choice (the app, once its first answer and map are
        shown); a thread waits for the child, and a process that ends meanwhile waits for the thread."""
        if self._claim():
            thread = threading.Thread(target=self._choose_in_child, name="backend-choice", daemon=True)
            thread.start()
            atexit.register(thread.join)

    def _choose_in_child(self) -> None:
        workdir = None
        try:
            workdir = self._workdir()
            if not self._forced() and read_choice(workdir / "choice.json") is None:
                # the child's key must be this process's: the same cache, the same thread count
                env = {**os.environ, BACKEND_ENV: "auto", BACKEND_CACHE_ENV: str(BACKEND_CACHE_DIR)}
                done = subprocess.run([sys.executable, "-m", CHILD_MODULE, str(self.checkpoint), str(torch.get_num_threads())],
                                      capture_output=True, text=True, timeout=CHILD_TIMEOUT_S, env=env)
                if done.returncode != 0:
                    log.warning("backend measurement failed: %s", done.stderr[-500:])
        except (OSError, subprocess.SubprocessError) as err:
            log.warning("backend measurement could not run: %s", err)
        self._choose(workdir, measure=False)

    def _workdir(self) -> Path:
        return BACKEND_CACHE_DIR / machine_key(self.checkpoint)

    def _claim(self) -> bool:
        with self._state_lock:
            if self.state != "pending":
                return False
            self.state = "choosing"
            return True

    def _choose(self, workdir: Path | None = None, measure: bool = True) -> None:
        try:
            workdir = workdir or self._workdir()  # the key hashes the checkpoint: once per choice
            choice = self._forced() or read_choice(workdir / "choice.json")
            choice = choice or (self._measure(workdir) if measure else BackendChoice())
            self._apply(choice, workdir)
        except Exception as err:  # noqa: BLE001 - any failure leaves PyTorch fp32 answering
            log.warning("inference backends not measured, PyTorch fp32 stays: %s", err)
        finally:
            self.state = "ready"

    def _forced(self) -> BackendChoice | None:
        name = os.environ.get(BACKEND_ENV, "").strip()
        if not name or name == "auto":
            return None
        if name not in CANDIDATES:
            log.warning("%s=%s is not one of %s; measuring instead", BACKEND_ENV, name, list(CANDIDATES))
            return None
        return BackendChoice(name, name, machine_facts(), {name: {"forced": f"{BACKEND_ENV}={name}"}})

    def _kaggle_check(self) -> dict | None:
        path = BACKENDS.path(self.checkpoint)
        try:
            return json.loads(path.read_text()) if path.exists() else None
        except (OSError, ValueError):
            return None

    def _measure(self, workdir: Path) -> BackendChoice:
        calibration = calibration_pictures(self.spec)
        check, runners, refused = self._kaggle_check(), {}, {}
        for name in CANDIDATES:
            refused_because = allowed_by_check(name, check)
            if refused_because:
                refused[name] = refused_because
                continue
            try:
                with self._lock:  # an export runs the model's modules
                    runners[name] = self._runner(name, workdir, calibration)
            except Exception as err:  # noqa: BLE001 - a path that cannot be built is not a candidate
                refused[name] = f"could not be built: {err}"
        rows = measure_backends(runners, self._head, calibration, lock=self._lock)
        for name in rows:
            rows[name]["extra_mib"] = self._extra_memory(name, workdir, runners[name])
        table = {name: {**rows.get(name, {}), "refused": refused.get(name)} for name in CANDIDATES}
        choice = BackendChoice(fastest(rows, refused, "ms_batch_1"), fastest(rows, refused, "ms_batch_8"),
                               machine_facts(), table)
        write_choice(workdir / "choice.json", choice)
        return choice

    @staticmethod
    def _extra_memory(name: str, workdir: Path, runner: nn.Module) -> float:
        """MiB of weights a ``name`` runner holds besides the network's own: the bf16 copy's, or the ONNX
        file's size (PyTorch fp32 is the network itself). A lower bound: in a fresh process, ONNX Runtime's fp32 session
        of the ResNet50 trunk (94 MB file) raised the resident memory by 242 MiB; the resident size of one
        process cannot tell, since a session opened after another reuses the memory it freed."""
        if isinstance(runner, Bf16Trunk):
            return runner.weight_mib()
        path = workdir / ONNX_FILES[name] if name in ONNX_FILES else None
        return path.stat().st_size / 2 ** 20 if path is not None and path.exists() else 0.0

    def _runner(self, name: str, workdir: Path, calibration: torch.Tensor | None = None) -> nn.Module:
        if name == "onnxruntime-int8" and calibration is None and not (workdir / ONNX_FILES[name]).exists():
            calibration = calibration_pictures(self.spec)
        pictures = None if calibration is None else np.ascontiguousarray(calibration.float().numpy())
        return build_runner(name, self._trunk, self.spec.input_size, workdir, pictures)

    def _apply(self, choice: BackendChoice, workdir: Path) -> None:
        networks = {}
        for name in {choice.single, choice.batch}:
            with self._lock:  # a cached choice whose ONNX file was deleted exports it again
                networks[name] = self.model if name == REFERENCE else nn.Sequential(self._runner(name, workdir),
                                                                                      self._head)
        self.single_network, self.batch_network = networks[choice.single], networks[choice.batch]
        self.choice = choice
        log.info("inference backends: %s for one picture, %s for batches", choice.single, choice.batch)

