from dataclasses import asdict

from model.training.config import TrainConfig
from model.training.resume import changed_settings


def test_only_real_setting_changes_count():
    cfg = TrainConfig(input_size=160, zero_init_residual=True)
    saved = asdict(cfg)
    saved["augment"] = {k: list(v) if isinstance(v, tuple) else v for k, v in saved["augment"].items()}
    saved.update(out="elsewhere", data="/mnt/copy", device="cuda", cache_dir=None)  # where things live
    assert changed_settings(cfg, saved) == []
    saved.update(epochs=7, lr=1e-4)
    assert changed_settings(cfg, saved) == ["epochs", "lr"]


def test_settings_a_run_predates_count_as_they_were_then():
    saved = asdict(TrainConfig())
    del saved["zero_init_residual"], saved["augment"]["rot90"], saved["augment"]["vflip"]
    del saved["teachers"], saved["distill_weight"], saved["distill_temperature"]
    assert changed_settings(TrainConfig(), saved) == []
    assert changed_settings(TrainConfig(zero_init_residual=True), saved) == ["zero_init_residual"]
    assert changed_settings(TrainConfig(teachers=["t.safetensors"]), saved) == ["teachers"]
