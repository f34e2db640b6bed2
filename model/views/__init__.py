"""What the pages show, without Streamlit: reports, charts, verdicts.

Import the modules themselves (``from model.views.catalog import …``): this file loads none of them.
"""
__all__ = ["catalog", "charts", "comparison_charts", "diagnosis", "leak", "localisation", "robustness"]
