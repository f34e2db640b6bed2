"""Image folders on disk: listing, fingerprints, duplicates, the audit, CT slices, thumbnails.

Import the modules themselves (``from model.data.audit import …``): this file loads none of them.
"""
__all__ = ["audit", "ct_slices", "duplicates", "folders", "outlines", "thumbnails", "transforms"]
