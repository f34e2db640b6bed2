import pytest
import torch
from torch import nn

from model import create_model
from model.classifier.factory import cam_target_layer, final_linear
from model.training.outline_loss import LastBlockFeatures, outline_loss

HEAD = torch.tensor([[1.0, 0.0], [0.0, 1.0]])  # class c reads channel c
TOP_LEFT = torch.zeros(1, 1, 16, 16)
TOP_LEFT[..., :4, :4] = 1.0  # the outline covers cell (0, 0) of a 4x4 grid


def evidence_at(row: int, col: int, channel: int = 0) -> torch.Tensor:
    features = torch.zeros(1, 2, 4, 4)
    features[0, channel, row, col] = 8.0
    return features.requires_grad_()


def test_evidence_inside_the_outline_costs_less_than_in_the_opposite_corner():
    target, yes = torch.tensor([0]), torch.tensor([True])
    inside = outline_loss(evidence_at(0, 0), HEAD, target, TOP_LEFT, yes)
    opposite = outline_loss(evidence_at(3, 3), HEAD, target, TOP_LEFT, yes)
    other_class = outline_loss(evidence_at(0, 0, channel=1), HEAD, target, TOP_LEFT, yes)  # not the true class's map
    assert inside < 0.1 < opposite and other_class > inside + 1


def test_gradients_reach_the_features_and_the_head_weight():
    features, head = torch.randn(2, 2, 4, 4, requires_grad=True), HEAD.clone().requires_grad_()
    outline_loss(features, head, torch.tensor([0, 1]), TOP_LEFT.repeat(2, 1, 1, 1), torch.tensor([True, True])).backward()
    assert features.grad.abs().sum() > 0 and head.grad.abs().sum() > 0


def test_no_outlined_slice_gives_a_zero_loss_that_still_backpropagates():
    features = evidence_at(3, 3)
    loss = outline_loss(features, HEAD, torch.tensor([0]), TOP_LEFT, torch.tensor([False]))
    assert loss.item() == 0.0 and loss.requires_grad
    loss.backward()
    assert features.grad is not None and torch.equal(features.grad, torch.zeros_like(features))


def test_a_mask_that_left_the_picture_counts_as_not_outlined():
    features = torch.cat([evidence_at(3, 3), evidence_at(0, 0)]).detach()
    masks = torch.cat([TOP_LEFT, torch.zeros_like(TOP_LEFT)])  # the second slice's outline was moved out
    both = outline_loss(features, HEAD, torch.tensor([0, 0]), masks, torch.tensor([True, True]))
    first = outline_loss(features[:1], HEAD, torch.tensor([0]), masks[:1], torch.tensor([True]))
    assert torch.isfinite(both) and torch.allclose(both, first)
    assert outline_loss(features[1:], HEAD, torch.tensor([0]), masks[1:], torch.tensor([True])).item() == 0.0


def test_last_block_features_are_the_cam_layers_output_and_the_hook_goes_on_exit():
    torch.manual_seed(0)
    model = create_model("resnet18", 4).eval()
    layer = cam_target_layer(model, "resnet18")
    with LastBlockFeatures(model, "resnet18") as last_block:
        assert len(layer._forward_hooks) == 1
        logits = model(torch.randn(3, 3, 64, 64))
        features = last_block.features
        assert features.shape == (3, 512, 2, 2) and last_block.head is model.fc
        # pool then head: the class activation map's mean is the logit (what the loss relies on)
        torch.testing.assert_close(model.fc(features.mean((2, 3))), logits)
    assert len(layer._forward_hooks) == 0 and last_block.features is None


@pytest.mark.parametrize("arch, where", [("resnet18", lambda m: m.fc), ("mobilenet_v2", lambda m: m.classifier[-1])])
def test_final_linear_is_the_heads_linear_layer(arch, where):
    model = create_model(arch, 4)
    head = final_linear(model)
    assert isinstance(head, nn.Linear) and head is where(model) and head.out_features == 4
