"""Average the weights of fine-tuned runs that share one parent (a "model soup").

    python -m model.training.soup --runs runs/resnet50-ft160 runs/resnet50-orient --out runs/resnet50-soup

Runs fine-tuned from the same checkpoint stay in one basin of the loss, so the mean of
their weights is itself a good network (Wortsman et al., 2022, "Model soups"). Here it
joins a run tuned for upright slices with one that also saw rotated and flipped ones:
the soup keeps most of the first's accuracy and most of the second's tolerance of
orientation. The output folder looks like a training run (``best.safetensors``,
``config.json``, ``history.json``), so ``python -m model.fitting.release`` takes it as it is.
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

import torch

from ..classifier.checkpoint import CheckpointError, load_checkpoint, save_checkpoint, split_guard_tensors
from ..results import atomic_write, write_json

# Metadata that describes one trained or released network, never a mix of several.
RELEASE_RECORDS = ("validation", "temperature", "calibration", "test_metrics", "ood")


def average_state_dicts(state_dicts: list[dict[str, torch.Tensor]]) -> dict[str, torch.Tensor]:
    """Element-wise mean of floating tensors; integer buffers (batch counts) come from the first.

    Raises:
        CheckpointError: the state dicts do not hold the same keys and shapes.
    """
    first = state_dicts[0]
    for other in state_dicts[1:]:
        if other.keys() != first.keys() or any(other[k].shape != first[k].shape for k in first):
            raise CheckpointError("cannot average checkpoints of different architectures")
    return {key: (torch.stack([sd[key].float() for sd in state_dicts]).mean(0)
                  if first[key].is_floating_point() else first[key])
            for key in first}


def make_soup(runs: list[Path], out: Path) -> Path:
    """Write the averaged checkpoint, and a config and history, into ``out``.

    The metadata and config are the last run's, with ``soup_of`` naming every ingredient;
    ``init_from`` points at the last run, so the released history covers the whole path.
    """
    loaded = [load_checkpoint(run / "best.safetensors") for run in runs]
    # A released checkpoint carries its "not an MRI" guard, fitted to its own features: weights only.
    loaded = [(split_guard_tensors(tensors)[0], meta) for tensors, meta in loaded]
    arches = {meta["arch"] for _, meta in loaded}
    specs = {json.dumps(meta["preprocess"], sort_keys=True) for _, meta in loaded}
    if len(arches) != 1 or len(specs) != 1:
        raise CheckpointError(f"ingredients differ in architecture or preprocessing: {arches}")
    names = [str(run) for run in runs]
    metadata = {**loaded[-1][1], "soup_of": names}
    # The last ingredient's measurements (and a release's calibration) are not the soup's.
    for key in RELEASE_RECORDS:
        metadata.pop(key, None)
    out.mkdir(parents=True, exist_ok=True)
    save_checkpoint(out / "best.safetensors", average_state_dicts([sd for sd, _ in loaded]), metadata)
    config = json.loads((runs[-1] / "config.json").read_text())
    config.update(out=str(out), epochs=0, soup_of=names, init_from=str(runs[-1] / "best.safetensors"))
    write_json(out / "config.json", config)
    atomic_write(out / "history.json", lambda tmp: Path(tmp).write_text("[]"))
    return out / "best.safetensors"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", nargs="+", required=True, help="training output folders to average")
    parser.add_argument("--out", required=True, help="folder for the soup (a run-like folder)")
    args = parser.parse_args(argv)
    print(f"wrote {make_soup([Path(r) for r in args.runs], Path(args.out))}")


if __name__ == "__main__":
    main()
