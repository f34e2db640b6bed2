"""Fitting: what a checkpoint is fitted with and which one ships (the temperature, the "not a brain
MRI" guard, the sequence estimate, blind selection, the bundle rule, the release).

Import the modules themselves (``from model.fitting.calibration import …``): this file loads none of them.
"""
__all__ = ["bundle_rule", "calibration", "guard_fit", "release", "selection", "sequence_fit"]
