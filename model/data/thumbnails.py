"""Small grey JPEGs of dataset images for the pages (mistakes, duplicate pairs, CT-like slices)."""
from __future__ import annotations

from pathlib import Path

from PIL import Image


def save_grey_thumbnail(source: Path, target: Path, side: int = 160) -> None:
    """A grey JPEG of ``source`` that fits in ``side`` x ``side`` (for the Data & evaluation page)."""
    with Image.open(source) as im:
        thumb = im.convert("L")
    thumb.thumbnail((side, side))
    thumb.save(target, quality=90)


def thumbnail_name(image: str) -> str:
    """A flat JPEG file name for a dataset image: ``glioma/Te-gl_0001.png`` → ``glioma_Te-gl_0001.jpg``."""
    return str(Path(image).with_suffix(".jpg")).replace("/", "_")


def replace_thumbnails(root: Path, images: list[str], out_dir: Path, side: int = 160) -> list[str]:
    """Empty ``out_dir`` of JPEGs, then write a grey thumbnail of each image under ``root``.

    Removing the previous run's pictures first keeps the folder in step with the
    report written beside it.

    Returns:
        The thumbnails' file names (:func:`thumbnail_name`), in the order of ``images``.
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    for old in out_dir.glob("*.jpg"):
        old.unlink()
    names = [thumbnail_name(image) for image in images]
    for image, name in zip(images, names):
        save_grey_thumbnail(Path(root) / image, out_dir / name, side)
    return names
