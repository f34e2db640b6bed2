"""``python -m model <command> …``: every command of the life cycle, from the audit to the release.

Each command is also a module (``python -m model.training.train …``); both take the same flags.
"""
from __future__ import annotations

import importlib
import sys

#: command → (module, what it does), in the order of the life cycle.
COMMANDS = {
    "audit": ("model.data.audit", "find duplicate images and the Testing images that leak from Training"),
    "ct-slices": ("model.data.ct_slices", "find head CT slices filed in the MRI dataset"),
    "external-split": ("model.data.manifest", "split a manifest-described external set by case, once, into committed lists"),
    "train": ("model.training.train", "train a classifier (resumes an interrupted run)"),
    "soup": ("model.training.soup", "average the weights of fine-tuned runs"),
    "bundle-rule": ("model.fitting.bundle_rule", "does a candidate replace the bundled model (the rule fixed before the runs)"),
    "select": ("model.fitting.selection", "choose among candidate checkpoints on the validation split"),
    "calibrate": ("model.fitting.calibration", "fit the temperature that calibrates the confidence"),
    "guard-fit": ("model.fitting.guard_fit", "fit and measure the \"not a brain MRI\" guard"),
    "evaluate": ("model.evaluation.evaluate", "evaluate a checkpoint on Testing, full and clean"),
    "external": ("model.evaluation.external", "evaluate a checkpoint on scans from other sources (a manifest)"),
    "sequence-fit": ("model.fitting.sequence_fit", "fit and measure the T1 / T1C+ / T2 estimate on the external set"),
    "stress": ("model.evaluation.stress", "re-test under simulated scanner and framing shifts"),
    "explain-check": ("model.evaluation.explain_check", "measure how far the heat maps can be trusted"),
    "localise": ("model.evaluation.localisation", "score the heat maps against hand-drawn tumour outlines"),
    "backends": ("model.evaluation.backend_check", "check every engine's answers against PyTorch fp32 on Testing; keep this machine's fastest"),
    "graph": ("model.classifier.engines.graph_export", "write a checkpoint's ONNX graph, which the app answers with (no torch)"),
    "release": ("model.fitting.release", "turn a finished run into a bundled model with its result files"),
    "compare": ("model.comparison.run", "train and test several backbones under one protocol"),
}


def usage() -> str:
    width = max(map(len, COMMANDS))
    lines = [f"  {name:<{width}}  {about}" for name, (_, about) in COMMANDS.items()]
    return ("usage: python -m model <command> [flags]   (python -m model <command> --help for its flags)\n\n"
            "commands:\n" + "\n".join(lines))


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    if not argv or argv[0] in ("-h", "--help", "help"):
        print(usage())
        return 0
    command, rest = argv[0], argv[1:]
    if command not in COMMANDS:
        print(f"unknown command {command!r}\n\n{usage()}", file=sys.stderr)
        return 2
    module = importlib.import_module(COMMANDS[command][0])
    from .data.manifest import ManifestError  # after the command's own imports: --help stays light
    sys.argv = [f"python -m model {command}", *rest]  # argparse names the command in its messages
    try:
        module.main(rest)
    except (FileNotFoundError, ManifestError) as err:  # missing data or a malformed list: say so, no traceback
        print(f"python -m model {command}: {err}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
