"""Heat maps: which exist (``methods``, no torch), the default one in NumPy (``activation_maps``), the
others through pytorch-grad-cam (``gradcam``), on a whole network or on activations an engine computed
(``from_activations``).

Import the modules themselves: this file loads none of them.
"""
__all__ = ["activation_maps", "from_activations", "gradcam", "methods"]
