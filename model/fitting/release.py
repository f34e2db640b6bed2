"""Turn a finished training run into the bundled model, with every result file beside it.

    python -m model.fitting.release --run runs/resnet50 --name resnet50

Steps, each one of the project's own commands:
1. copy ``best.safetensors``, ``config.json`` and ``history.json`` into ``model/weights/<name>.*``;
2. fit the temperature on the validation split, and with ``--external`` on the external set's
   calibration list too (``model.fitting.calibration``);
3. fit the "not a brain MRI" guard and measure it (``model.fitting.guard_fit``);
4. evaluate on Testing, full and clean, and store the headline in the checkpoint (``model.evaluation.evaluate``).
"""
from __future__ import annotations

import argparse
import json
import shutil
from pathlib import Path

from ..results import atomic_write
from ..classifier.engines.graph_export import write_graph
from ..evaluation import evaluate
from ..paths import CACHE_DIR, COMPARISON_DIR, KAGGLE_DIR, WEIGHTS_DIR
from ..results import HISTORY
from . import calibration, guard_fit


def combined_history(run: Path) -> list[dict]:
    """The run's per-epoch history, preceded by that of the run it was fine-tuned from (if any).

    Epochs are numbered on from the earlier stage and each record names its input size, so the
    curves and the summed training time cover the whole path to the released weights.
    """
    config = json.loads((run / "config.json").read_text())
    history = json.loads((run / "history.json").read_text())
    earlier: list[dict] = []
    if config.get("init_from"):
        earlier = _earlier_history(run, Path(config["init_from"]))
    offset = earlier[-1]["epoch"] if earlier else 0
    # A record that names its size already comes from a released history, which spans several stages.
    return earlier + [{**h, "epoch": h["epoch"] + offset, "input_size": h.get("input_size", config["input_size"])}
                      for h in history]


def _earlier_history(run: Path, init_from: Path) -> list[dict]:
    """The history behind ``init_from``: a released model's ``<name>.history.json``, a run folder's, or
    for a bundled comparison network the epochs in its comparison result file."""
    released = HISTORY.path(init_from)
    if released.exists():  # already the whole path to those weights, every stage numbered
        return json.loads(released.read_text())
    base = init_from.parent
    if (base / "history.json").exists():
        return combined_history(base)
    compared = COMPARISON_DIR / f"{init_from.stem}.json"
    if init_from.parent.resolve() == WEIGHTS_DIR.resolve() and compared.exists():
        # The bundled smaller networks are the comparison runs: their epochs live in its result file.
        result = json.loads(compared.read_text())
        return [{**h, "input_size": h.get("input_size", result["input_size"])} for h in result["training"]["history"]]
    raise FileNotFoundError(f"{run} was fine-tuned from {init_from}, but none of {released}, "
                            f"{base / 'history.json'} or {compared} exists")


def release(run: Path, name: str, data: Path, cache_dir: str, weights_dir: Path = WEIGHTS_DIR,
            ood_quantile: float = 0.999, mistakes_dir: Path | None = None, external: str | None = None,
            fit_on: str | None = None) -> Path:
    """Copy, calibrate, guard, evaluate and write the ONNX graph; returns the released checkpoint's path.

    Args:
        mistakes_dir: where to put a thumbnail of every misclassified Testing image
            (``assets/mistakes`` for the model the Data & evaluation page describes).
        external: an external set's manifest whose calibration list joins the temperature fit.
        fit_on: ``model.fitting.calibration``'s ``--fit-on`` (None: its default).
    """
    target = weights_dir / f"{name}.safetensors"
    shutil.copyfile(run / "best.safetensors", target)
    shutil.copyfile(run / "config.json", weights_dir / f"{name}.config.json")
    history = json.dumps(combined_history(run), indent=1)
    atomic_write(weights_dir / f"{name}.history.json", lambda tmp: Path(tmp).write_text(history))
    calibration.main(["--checkpoint", str(target), "--cache-dir", cache_dir]
                     + (["--external", external] if external else []) + (["--fit-on", fit_on] if fit_on else []))
    guard_fit.main(["--checkpoint", str(target), "--data", str(data), "--cache-dir", cache_dir,
                   "--quantile", str(ood_quantile)])
    evaluate.main(["--checkpoint", str(target), "--data", str(data / "Testing"), "--store",
                   "--out", str(weights_dir / f"{name}.metrics.json")]
                  + (["--mistakes-dir", str(mistakes_dir)] if mistakes_dir else []))
    write_graph(target)  # last: the steps above rewrite the checkpoint the graph points into
    return target


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--run", required=True, help="training output folder")
    parser.add_argument("--name", default="resnet50")
    parser.add_argument("--data", default=str(KAGGLE_DIR))
    parser.add_argument("--cache-dir", default=str(CACHE_DIR))
    parser.add_argument("--weights-dir", default=str(WEIGHTS_DIR),
                        help="where the released files go (stage elsewhere to compare before replacing)")
    parser.add_argument("--ood-quantile", type=float, default=0.999,
                        help="share of held-out Training MRIs the feature guard must accept")
    parser.add_argument("--mistakes-dir", type=Path, default=None,
                        help="thumbnails of the misclassified Testing images (assets/mistakes for the bundled model)")
    parser.add_argument("--external", default=None, metavar="MANIFEST",
                        help="fit the temperature on this external set's calibration list too")
    parser.add_argument("--fit-on", choices=calibration.FIT_CHOICES, default=None,
                        help="what the temperature is fitted on (python -m model calibrate --help); none keeps T = 1")
    args = parser.parse_args(argv)
    weights_dir = Path(args.weights_dir)
    weights_dir.mkdir(parents=True, exist_ok=True)
    target = release(Path(args.run), args.name, Path(args.data), args.cache_dir, weights_dir, args.ood_quantile,
                     args.mistakes_dir, args.external, args.fit_on)
    print(f"released {target}")


if __name__ == "__main__":
    main()
