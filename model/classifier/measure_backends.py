"""The child process the app starts to choose this machine's backend (``model.classifier.backend_runtime``).

    python -m model.classifier.measure_backends CHECKPOINT [THREADS]

Measures every allowed backend for ``CHECKPOINT`` with ``THREADS`` intra-op threads (the parent's, so
that both compute the same cache key) and writes the choice to this machine's cache.
"""
from __future__ import annotations

import json
import sys

import torch

from .inference import load_classifier

__all__ = ["main"]


def main(argv: list[str] | None = None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) not in (1, 2):
        raise SystemExit("usage: python -m model.classifier.measure_backends CHECKPOINT [THREADS]")
    if len(argv) == 2:
        torch.set_num_threads(int(argv[1]))
    clf = load_classifier(argv[0])
    clf.backends.choose_now()
    print(json.dumps(clf.backends.choice.to_dict()))


if __name__ == "__main__":
    main()
