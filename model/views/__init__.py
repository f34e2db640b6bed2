"""What the pages show, without Streamlit: reports, charts, verdicts.

Import the modules themselves (``from model.views.catalog import …``): this file loads none of them.
"""
__all__ = ["catalog", "charts", "colours", "comparison_charts", "comparison_external", "comparison_notes", "diagnosis",
           "heat_map_names", "leak", "localisation", "robustness", "training_stages"]
