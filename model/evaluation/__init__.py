"""Evaluation: metrics and every command that measures a checkpoint, up to the release.

Import the modules themselves (``from model.evaluation.calibration import …``): this file loads none of them.
"""
__all__ = ["calibration", "evaluate", "explain_check", "guard_fit", "latency", "localisation", "metrics", "release", "selection", "shifts", "stress"]
