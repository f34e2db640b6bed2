import numpy as np
import pytest
import torch
from PIL import Image

from model import create_model, load_classifier, save_checkpoint
from model.classifier.checkpoint import split_guard_tensors
from model.classifier.guard import FeatureGuard, fit_guard, input_problem
from model.fitting.guard_fit import cross_fitted_guard, fit_and_measure, packaged_ood_images, synthetic_ood_images

from .conftest import CLASSES, TINY_SPEC, synthetic_mri


def clusters(n_per_class: int, seed: int, shift: float = 0.0):
    rng = np.random.default_rng(seed)
    centres = np.eye(4, 16) * 6
    labels = np.repeat(np.arange(4), n_per_class)
    return centres[labels] + rng.normal(0, 1, (len(labels), 16)) + shift, labels


def test_input_problem_flags_colour_and_blank_but_not_mri(samples):
    assert "colour" in input_problem(Image.new("RGB", (64, 64), (200, 30, 30)))
    assert "blank" in input_problem(Image.new("L", (64, 64), 0))
    for sample in samples:
        assert input_problem(Image.open(sample.path)) is None


def test_guard_accepts_its_distribution_and_rejects_far_points():
    x, y = clusters(200, seed=0)
    guard = cross_fitted_guard(x, y, quantile=0.99)
    held_out, _ = clusters(200, seed=1)
    far, _ = clusters(50, seed=2, shift=8.0)
    assert guard.accepts(held_out).mean() > 0.95
    assert guard.accepts(far).mean() == 0


def test_guard_threshold_follows_the_quantile():
    x, y = clusters(300, seed=3)
    calibration, _ = clusters(300, seed=4)
    guard = fit_guard(x, y, calibration, quantile=0.9)
    assert guard.accepts(calibration).mean() == pytest.approx(0.9, abs=0.01)


def test_guard_survives_the_checkpoint(tmp_path):
    x, y = clusters(50, seed=5)
    guard = fit_guard(x, y, x)
    tensors = guard.to_tensors()
    assert all(t.dtype == torch.float32 for t in tensors.values())
    model = create_model("resnet18", 4)
    path = tmp_path / "g.safetensors"
    save_checkpoint(path, {**model.state_dict(), **tensors},
                    {"arch": "resnet18", "classes": CLASSES, "preprocess": TINY_SPEC.to_dict()})
    clf = load_classifier(path)
    assert clf.guard is not None
    assert np.allclose(clf.guard.score(x), guard.score(x), rtol=1e-4)
    weights, stored = split_guard_tensors(tensors)
    assert weights == {} and FeatureGuard.from_tensors({}) is None


def test_ood_set_comes_from_packages_and_synthesis():
    images = {**synthetic_ood_images(), **packaged_ood_images()}
    assert len(images) >= 20 and any(name.startswith("photo") for name in images)


def test_fit_and_measure_stores_a_working_guard(tiny_dataset, tiny_checkpoint, tmp_path):
    ckpt = tmp_path / "copy.safetensors"
    ckpt.write_bytes(tiny_checkpoint.read_bytes())
    report = fit_and_measure(ckpt, tiny_dataset, quantile=0.99, cache_dir=None)
    assert report["testing_images"] == 24 and 0 <= report["ood_rejected_rate"] <= 1
    clf = load_classifier(ckpt)
    assert clf.guard is not None and clf.metadata["ood"]["threshold"] == pytest.approx(report["threshold"])


def test_bundled_model_rejects_noise_and_blank_and_accepts_samples(bundled, samples):
    rng = np.random.default_rng(0)
    junk = [Image.fromarray(rng.integers(0, 256, (128, 128, 3), dtype=np.uint8)),
            Image.new("L", (200, 200), 0), Image.new("RGB", (64, 64), "white")]
    assert not bundled.is_brain_mri(junk).any()
    assert bundled.is_brain_mri([Image.open(s.path) for s in samples]).all()
    assert bundled.explain(Image.open(samples[0].path)).problem is None


def test_text_page_has_no_dark_border():
    page = synthetic_ood_images()["text screenshot 0"]
    assert "dark background" in input_problem(page)


def test_head_shape_check_accepts_heads_and_refuses_other_shapes(samples):
    from PIL import ImageDraw

    from model.classifier.guard import head_shape_problem
    from model.classifier.preprocess import to_grey_uint8

    for sample in samples:
        assert head_shape_problem(to_grey_uint8(Image.open(sample.path))) is None, sample.path.name
    assert head_shape_problem(np.asarray(synthetic_mri(0, seed=1, size=128))) is None
    square = Image.new("L", (128, 128))
    ImageDraw.Draw(square).rectangle((20, 20, 107, 107), fill=200)
    assert "shaped" in head_shape_problem(np.asarray(square))
    speck = Image.new("L", (128, 128))
    ImageDraw.Draw(speck).ellipse((60, 60, 70, 70), fill=200)
    assert "head-sized" in head_shape_problem(np.asarray(speck))
    off_frame = Image.new("L", (128, 128))
    ImageDraw.Draw(off_frame).ellipse((-8, -8, 136, 136), fill=200)  # a disc cut by all four edges
    assert "edges" in head_shape_problem(np.asarray(off_frame))


def test_a_strip_is_not_an_mri_slice():
    strip = synthetic_mri(0, seed=3, size=64).resize((300, 64))
    assert "shape" in input_problem(strip)
    assert input_problem(synthetic_mri(0, seed=3, size=64).resize((96, 64))) is None


@pytest.mark.parametrize("shift_name", ["zoomed out", "large (1024 px)", "small (96 px)", "rotated 15°"])
def test_pixel_checks_accept_samples_reframed_as_by_another_hospital(samples, shift_name):
    from model.evaluation.shifts import shift_by_name

    shift = shift_by_name(shift_name)
    for sample in samples:
        assert input_problem(shift.apply(Image.open(sample.path).convert("L"))) is None, sample.path.name


def test_measure_only_leaves_the_checkpoint_untouched(tiny_dataset, tiny_checkpoint, tmp_path):
    import json

    from model.fitting.guard_fit import main

    ckpt = tmp_path / "copy.safetensors"
    ckpt.write_bytes(tiny_checkpoint.read_bytes())
    out = tmp_path / "first.json"
    main(["--checkpoint", str(ckpt), "--data", str(tiny_dataset), "--cache-dir", "none", "--out", str(out)])
    fitted = ckpt.read_bytes()
    again = tmp_path / "again.json"
    main(["--checkpoint", str(ckpt), "--data", str(tiny_dataset), "--measure-only", "--out", str(again)])
    assert ckpt.read_bytes() == fitted
    first, second = json.loads(out.read_text()), json.loads(again.read_text())
    for key in ("threshold", "testing_rejected", "ood_rejected", "quantile"):
        assert second[key] == pytest.approx(first[key])


def test_measure_only_needs_a_guard(tiny_dataset, tiny_checkpoint, tmp_path, capsys):
    from model.fitting.guard_fit import main

    with pytest.raises(SystemExit):
        main(["--checkpoint", str(tiny_checkpoint), "--data", str(tiny_dataset), "--measure-only",
              "--out", str(tmp_path / "r.json")])
    assert "no feature guard" in capsys.readouterr().err
