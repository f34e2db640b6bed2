"""model.classifier.engines.choice: the engine kept for this machine, and when it no longer holds."""
import shutil

import pytest

from model.classifier.engines import choice
from model.classifier.engines.choice import REFERENCE, chosen_engine, unsupported_here, write_choice


@pytest.fixture(autouse=True)
def own_cache(tmp_path, monkeypatch):
    """Choices written here stay here: other tests load the same tiny checkpoint with engine="auto"."""
    monkeypatch.setattr(choice, "BACKEND_CACHE_DIR", tmp_path / "choices")


def rows(**speeds):
    return {name.replace("_", "-"): {"passes": passes, "images_per_second": ips}
            for name, (ips, passes) in speeds.items()}


def test_the_fastest_passing_engine_is_kept(tiny_checkpoint, monkeypatch):
    monkeypatch.setattr(choice, "cpu_flags", lambda: {"avx512_bf16"})
    kept = write_choice(tiny_checkpoint, rows(torch_fp32=(10, True), torch_bf16=(30, False), onnx_graph=(20, True)))
    assert kept == "onnx-graph" and chosen_engine(tiny_checkpoint) == "onnx-graph"
    assert write_choice(tiny_checkpoint, rows(torch_fp32=(10, True), torch_bf16=(30, True))) == "torch-bf16"
    assert write_choice(tiny_checkpoint, {}) == REFERENCE


def test_another_checkpoint_or_machine_goes_back_to_pytorch(tiny_checkpoint, tmp_path, monkeypatch):
    monkeypatch.setattr(choice, "cpu_flags", lambda: {"avx512_bf16"})
    write_choice(tiny_checkpoint, rows(torch_bf16=(30, True)))
    copy = tmp_path / "other.safetensors"
    shutil.copy(tiny_checkpoint, copy)
    assert chosen_engine(copy) == REFERENCE  # never measured under this name
    monkeypatch.setattr(choice, "cpu_model", lambda: "another CPU")
    assert chosen_engine(tiny_checkpoint) == REFERENCE


def test_bf16_is_never_chosen_where_the_cpu_lacks_it(tiny_checkpoint, monkeypatch):
    monkeypatch.setattr(choice, "cpu_flags", lambda: {"avx2"})
    assert unsupported_here("torch-bf16") and unsupported_here("onnx-graph") is None
    write_choice(tiny_checkpoint, rows(torch_bf16=(30, True)))
    assert chosen_engine(tiny_checkpoint) == REFERENCE


@pytest.mark.parametrize("text", ["", "not json", "[1, 2]", '{"engine": "tensorrt"}', '{"engine": ["x"]}'])
def test_a_bad_choice_file_is_ignored(tiny_checkpoint, text):
    write_choice(tiny_checkpoint, {})
    choice._choice_file(tiny_checkpoint).write_text(text)
    assert chosen_engine(tiny_checkpoint) == REFERENCE
