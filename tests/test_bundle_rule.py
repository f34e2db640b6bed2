import json

import pytest

from model.fitting.bundle_rule import POINTING_FLOOR, balanced_accuracy, judge, main, primary_score


def figure(value, low, high):
    return {"value": value, "ci95": [low, high], "n": 100, "case_groups": 30}


def external(accuracy=0.6, sensitivity=0.7, specificity=0.8, other=0.3, answers=None):
    answers = answers or [("glioma", "glioma"), ("glioma", "meningioma"), ("meningioma", "meningioma"),
                          ("notumor", "notumor"), ("other_tumour", "glioma")]
    return {"accuracy": figure(accuracy, accuracy - 0.1, accuracy + 0.1),
            "sensitivity": figure(sensitivity, sensitivity - 0.1, sensitivity + 0.1),
            "specificity": figure(specificity, specificity - 0.1, specificity + 0.1),
            "other_tumour_called_no_tumour": figure(other, other - 0.1, other + 0.1),
            "classes_present": ["glioma", "meningioma", "notumor"],
            "predictions": [{"file": f"{label}/{i}.jpg", "answer": answer} for i, (label, answer) in enumerate(answers)]}


def test_balanced_accuracy_is_the_mean_recall_of_the_three_known_classes():
    assert balanced_accuracy(external()) == pytest.approx((0.5 + 1 + 1) / 3)
    assert primary_score(external()) == pytest.approx(((0.5 + 1 + 1) / 3 + 0.7 + 0.8) / 3)


def test_a_better_candidate_replaces_the_bundle():
    bundle = {"external": external(), "kaggle_validation": (0.97, 336)}
    candidate = {"external": external(sensitivity=0.85), "kaggle_validation": (0.96, 336), "pointing_game": 0.7}
    verdict = judge(candidate, bundle)
    assert verdict.replace and not verdict.reasons
    assert verdict.primary["candidate"] > verdict.primary["bundle"]


def test_a_fall_inside_the_bundles_interval_is_allowed_and_one_past_it_is_not():
    bundle = {"external": external(), "kaggle_validation": (0.97, 336)}
    inside = {"external": external(sensitivity=0.9, specificity=0.72), "kaggle_validation": (0.97, 336),
              "pointing_game": 0.7}
    assert judge(inside, bundle).replace  # 8 points below, the half-width is 10
    past = {**inside, "external": external(sensitivity=0.95, specificity=0.65)}
    verdict = judge(past, bundle)
    assert not verdict.replace and any("specificity" in r for r in verdict.reasons)
    more_normal_calls = {**inside, "external": external(sensitivity=0.9, other=0.45)}
    assert any("other_tumour" in r for r in judge(more_normal_calls, bundle).reasons)


def test_kaggle_validation_may_fall_by_its_wilson_half_width_only():
    bundle = {"external": external(), "kaggle_validation": (0.97, 336)}
    better = external(sensitivity=0.9)
    assert judge({"external": better, "kaggle_validation": (0.955, 336), "pointing_game": 0.7}, bundle).replace
    verdict = judge({"external": better, "kaggle_validation": (0.90, 336), "pointing_game": 0.7}, bundle)
    assert any("Kaggle validation" in r for r in verdict.reasons)


def test_a_map_off_the_tumour_or_unmeasured_keeps_the_bundle():
    bundle = {"external": external(), "kaggle_validation": (0.97, 336)}
    for pointing in (POINTING_FLOOR - 0.01, None):
        verdict = judge({"external": external(sensitivity=0.9), "kaggle_validation": (0.97, 336),
                         "pointing_game": pointing}, bundle)
        assert not verdict.replace and "pointing game" in verdict.reasons[-1]


def test_the_command_reads_the_result_files_beside_each_checkpoint(tmp_path, monkeypatch, capsys):
    from model.fitting import bundle_rule

    for name, ext, pointing in (("bundle", external(), None), ("candidate", external(sensitivity=0.9), 0.75)):
        (tmp_path / f"{name}.external.json").write_text(json.dumps(ext))
        if pointing is not None:
            (tmp_path / f"{name}.localisation.json").write_text(json.dumps(
                {"split": "validation", "maps": {"Grad-CAM": {"overall": {"pointing_game": {"mean": pointing}}}}}))
    monkeypatch.setattr(bundle_rule, "read_metadata", lambda path: {
        "validation": {"val_acc": 0.97}, "data_sources": [{"validation_images": 336}]})
    main(["--candidate", str(tmp_path / "candidate.safetensors"), "--bundle", str(tmp_path / "bundle.safetensors"),
          "--out", str(tmp_path / "verdict.json")])
    assert capsys.readouterr().out.strip().endswith("replace the bundle")
    assert json.loads((tmp_path / "verdict.json").read_text())["replace"] is True
