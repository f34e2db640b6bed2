"""Evaluation: metrics and every command that measures a checkpoint; it fits and chooses nothing
(that is :mod:`model.fitting`).

Import the modules themselves (``from model.evaluation.metrics import …``): this file loads none of them.
"""
__all__ = ["backend_check", "coverage", "evaluate", "explain_check", "external", "heat_map_search", "latency",
           "localisation", "metrics", "shifts", "stress"]
