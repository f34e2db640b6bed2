"""The trunk split and the runners of model.classifier.backends: same features, files reused."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from model import create_model
from model.classifier import backends
from model.classifier.backends import CANDIDATES, REFERENCE, Bf16Trunk, OnnxTrunk, bf16_capable, build_runner
from model.classifier.factory import SPLITTABLE, split_at_cam_layer

SIZE = 32


def _eval_model(arch: str) -> torch.nn.Module:
    torch.manual_seed(0)
    return create_model(arch, 4).eval()


@pytest.fixture(scope="module")
def resnet_split():
    model = _eval_model("resnet18")
    trunk, head = split_at_cam_layer(model, "resnet18")
    return model, trunk, head


@pytest.fixture(scope="module")
def pictures() -> torch.Tensor:
    return torch.randn(3, 3, SIZE, SIZE, generator=torch.Generator().manual_seed(1))


@pytest.mark.parametrize("arch", ["resnet18", "mobilenet_v2", "efficientnet_b0"])
def test_head_of_trunk_is_the_whole_network(arch):
    assert arch in SPLITTABLE
    model = _eval_model(arch)
    trunk, head = split_at_cam_layer(model, arch)
    x = torch.randn(2, 3, SIZE, SIZE, generator=torch.Generator().manual_seed(2))
    with torch.inference_mode():
        whole, parts = model(x), head(trunk(x))
    assert parts.shape == (2, 4)
    torch.testing.assert_close(parts, whole, rtol=0, atol=1e-6)
    # the parts share the network's modules: no copies to drift from the checkpoint's weights
    model_params = {id(p) for p in model.parameters()}
    assert {id(p) for p in (*trunk.parameters(), *head.parameters())} == model_params


@pytest.mark.parametrize("arch", ["vgg16", "densenet121"])
def test_networks_that_do_more_between_blocks_do_not_split(arch):
    with torch.device("meta"):  # only the structure matters
        model = create_model(arch, 4)
    with pytest.raises(ValueError, match="does not split"):
        split_at_cam_layer(model, arch)


def test_reference_runner_is_the_trunk_itself(resnet_split, tmp_path):
    _, trunk, _ = resnet_split
    assert build_runner(REFERENCE, trunk, SIZE, tmp_path) is trunk
    assert not any(tmp_path.iterdir())  # PyTorch needs no files


@pytest.mark.parametrize("name", [n for n in CANDIDATES if n != REFERENCE])
def test_each_runner_gives_features_of_the_trunks_shape(name, resnet_split, pictures, tmp_path):
    if name == "torch-bf16" and not bf16_capable():
        pytest.skip("this CPU has neither AVX-512 bf16 nor AMX")
    _, trunk, _ = resnet_split
    runner = build_runner(name, trunk, SIZE, tmp_path, calibration=pictures.numpy())
    assert isinstance(runner, Bf16Trunk if name == "torch-bf16" else OnnxTrunk)
    with torch.inference_mode():
        expected = trunk(pictures)
        got = runner(pictures.contiguous(memory_format=torch.channels_last))  # as the classifier feeds it
    assert got.shape == expected.shape and got.dtype == torch.float32
    assert torch.isfinite(got).all()
    if name == "onnxruntime-fp32":
        torch.testing.assert_close(got, expected, rtol=0, atol=1e-4)
    else:  # rounded arithmetic: close, not equal
        assert not torch.equal(got, expected)
        assert (got - expected).abs().mean() < 0.1 * expected.abs().mean()


def test_onnx_runner_takes_any_batch_size(resnet_split, tmp_path):
    _, trunk, _ = resnet_split
    runner = build_runner("onnxruntime-fp32", trunk, SIZE, tmp_path)  # exported at batch 1
    x = torch.randn(5, 3, SIZE, SIZE)
    with torch.inference_mode():
        torch.testing.assert_close(runner(x), trunk(x), rtol=0, atol=1e-4)


def test_onnx_files_are_reused_from_the_workdir(resnet_split, pictures, tmp_path, monkeypatch):
    _, trunk, _ = resnet_split
    build_runner("onnxruntime-int8", trunk, SIZE, tmp_path, calibration=pictures.numpy())
    fp32, int8 = tmp_path / "trunk-fp32.onnx", tmp_path / "trunk-int8.onnx"
    stamps = {path: path.stat().st_mtime_ns for path in (fp32, int8)}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["trunk-fp32.onnx", "trunk-int8.onnx"]  # no temp files left

    def no_second_time(*args, **kwargs):
        raise AssertionError("exported or quantised again")

    monkeypatch.setattr(backends, "export_trunk", no_second_time)
    monkeypatch.setattr(backends, "quantise_trunk", no_second_time)
    build_runner("onnxruntime-fp32", trunk, SIZE, tmp_path)
    build_runner("onnxruntime-int8", trunk, SIZE, tmp_path)  # no calibration needed once the file is there
    assert {path: path.stat().st_mtime_ns for path in (fp32, int8)} == stamps


def test_unknown_backend_is_refused(resnet_split, tmp_path):
    _, trunk, _ = resnet_split
    with pytest.raises(ValueError, match="unknown backend"):
        build_runner("tensorrt-fp16", trunk, SIZE, tmp_path)


@pytest.mark.parametrize("calibration", [None, np.zeros((0, 3, SIZE, SIZE), np.float32)])
def test_int8_needs_calibration_pictures(calibration, resnet_split, tmp_path):
    _, trunk, _ = resnet_split
    with pytest.raises(ValueError, match="calibration"):
        build_runner("onnxruntime-int8", trunk, SIZE, tmp_path, calibration=calibration)
    assert not (tmp_path / "trunk-int8.onnx").exists()
