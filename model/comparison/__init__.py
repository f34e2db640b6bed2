"""The model comparison: train and test several backbones under one protocol, and its result files.

Import the modules themselves (``from model.comparison.results import …``): this file loads none of them.
"""
__all__ = ["external_eval", "results", "run", "schema"]
