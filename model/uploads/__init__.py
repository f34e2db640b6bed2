"""Uploads: bytes → :class:`~model.uploads.scan.Scan` (pictures, DICOM, NIfTI), with safe limits.

Import the modules themselves (``from model.uploads.dicom import …``): this file loads none of them.
"""
__all__ = ["dicom", "limits", "load", "nifti", "scan"]
