"""Words a person reads: class and architecture display names."""
from __future__ import annotations

__all__ = ["ARCH_NAMES", "DISPLAY_NAMES", "NO_TUMOUR", "OTHER_TUMOUR_LABEL", "arch_name", "class_name"]

#: The class folder name of scans without a tumour.
NO_TUMOUR = "notumor"
#: The integer label of a tumour of a type the classifier has no class for (trained as "not normal").
OTHER_TUMOUR_LABEL = -1

#: Per class folder name.
DISPLAY_NAMES = {
    "glioma": "Glioma",
    "meningioma": "Meningioma",
    NO_TUMOUR: "No tumour",
    "pituitary": "Pituitary tumour",
}

#: Per architecture name of :func:`model.classifier.factory.create_model`.
ARCH_NAMES = {"resnet50": "ResNet50", "resnet18": "ResNet18", "mobilenet_v2": "MobileNetV2",
              "efficientnet_b0": "EfficientNet-B0", "efficientnet_lite0": "EfficientNet-Lite0",
              "densenet121": "DenseNet121", "vgg16": "VGG16-BN"}


def class_name(label: str) -> str:
    """A class folder name as a person reads it (unknown names unchanged)."""
    return DISPLAY_NAMES.get(label, label)


def arch_name(arch: str) -> str:
    """An architecture name as a person reads it (unknown names unchanged)."""
    return ARCH_NAMES.get(arch, arch)
