"""The classifier: an image → an answer (preprocessing, networks, checkpoints, the "not an MRI" guard, heat maps).

Import the modules themselves (``from model.classifier.backends import …``): this file loads none of them.
"""
__all__ = ["answers", "app_classifier", "backend_choice", "backend_runtime", "backends", "checkpoint", "explanation", "factory", "gradcam",
           "graph", "graph_classifier", "graph_export", "graph_heat_map", "guard", "heat_map_methods", "inference",
           "measure_backends", "preprocess", "sequence"]
