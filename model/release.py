"""Turn a finished training run into the bundled model, with every result file beside it.

    python -m model.release --run runs/resnet50 --name resnet50

Steps, each one of the project's own commands:
1. copy ``best.safetensors``, ``config.json`` and ``history.json`` into ``model/weights/<name>.*``;
2. fit the temperature on the validation split (``model.calibration``);
3. fit the "not a brain MRI" guard and measure it (``model.ood_eval``);
4. evaluate on Testing, full and clean, and store the headline in the checkpoint (``model.evaluate``).
"""
from __future__ import annotations

import argparse
import shutil
from pathlib import Path

from . import calibration, evaluate, ood_eval
from .inference import WEIGHTS_DIR


def release(run: Path, name: str, data: Path, cache_dir: str, weights_dir: Path = WEIGHTS_DIR,
            ood_quantile: float = 0.999) -> Path:
    """Copy, calibrate, guard and evaluate; returns the released checkpoint's path."""
    target = weights_dir / f"{name}.safetensors"
    shutil.copyfile(run / "best.safetensors", target)
    for part in ("config", "history"):
        shutil.copyfile(run / f"{part}.json", weights_dir / f"{name}.{part}.json")
    calibration.main(["--checkpoint", str(target), "--cache-dir", cache_dir])
    ood_eval.main(["--checkpoint", str(target), "--data", str(data), "--cache-dir", cache_dir,
                   "--quantile", str(ood_quantile)])
    evaluate.main(["--checkpoint", str(target), "--data", str(data / "Testing"), "--store",
                   "--out", str(weights_dir / f"{name}.metrics.json")])
    return target


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--run", required=True, help="training output folder")
    parser.add_argument("--name", default="resnet50")
    parser.add_argument("--data", default="../shared/data/brain-tumor-mri")
    parser.add_argument("--cache-dir", default=".cache")
    parser.add_argument("--weights-dir", default=str(WEIGHTS_DIR),
                        help="where the released files go (stage elsewhere to compare before replacing)")
    parser.add_argument("--ood-quantile", type=float, default=0.999,
                        help="share of held-out Training MRIs the feature guard must accept")
    args = parser.parse_args(argv)
    weights_dir = Path(args.weights_dir)
    weights_dir.mkdir(parents=True, exist_ok=True)
    target = release(Path(args.run), args.name, Path(args.data), args.cache_dir, weights_dir, args.ood_quantile)
    print(f"released {target}")


if __name__ == "__main__":
    main()
