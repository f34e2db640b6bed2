"""model.training.losses: other tumour types trained as "not normal" through the four outputs."""
import pytest
import torch
import torch.nn.functional as F

from model.training.losses import OTHER_TUMOUR, answered_right, tumour_aware_loss

NONE = 2  # "notumor" in the tiny data's class order


def test_without_other_tumours_it_is_plain_cross_entropy():
    logits, target = torch.randn(6, 4), torch.tensor([0, 1, 2, 3, 0, 2])
    assert torch.allclose(tumour_aware_loss(logits, target, NONE, 0.1),
                          F.cross_entropy(logits, target, label_smoothing=0.1))


def test_an_other_tumour_costs_minus_log_of_not_normal():
    logits = torch.tensor([[1.0, 0.5, 3.0, -1.0]])
    p_none = torch.softmax(logits, 1)[0, NONE]
    loss = tumour_aware_loss(logits, torch.tensor([OTHER_TUMOUR]), NONE)
    assert loss.item() == pytest.approx(-torch.log(1 - p_none).item(), rel=1e-5)


def test_its_gradient_lowers_no_tumour_and_leaves_the_tumour_split_free():
    logits = torch.tensor([[1.0, 0.5, 3.0, -1.0]], requires_grad=True)
    tumour_aware_loss(logits, torch.tensor([OTHER_TUMOUR]), NONE).backward()
    grad = logits.grad[0]
    assert grad[NONE] > 0  # gradient descent pushes the "no tumour" logit down
    assert (grad[[0, 1, 3]] < 0).all()  # and every tumour class up, none of them named


def test_a_mixed_batch_averages_both_kinds_over_the_batch():
    logits, target = torch.randn(4, 4), torch.tensor([0, OTHER_TUMOUR, 3, OTHER_TUMOUR])
    known = F.cross_entropy(logits[[0, 2]], target[[0, 2]], reduction="sum")
    other = sum(tumour_aware_loss(logits[[i]], target[[i]], NONE) for i in (1, 3))
    assert tumour_aware_loss(logits, target, NONE).item() == pytest.approx(((known + other) / 4).item(), rel=1e-5)


def test_an_other_tumour_is_answered_right_by_any_tumour_class():
    logits = torch.eye(4)[[0, 2, 3, 2]] * 5
    target = torch.tensor([OTHER_TUMOUR, OTHER_TUMOUR, 3, 1])
    assert answered_right(logits, target, NONE).tolist() == [True, False, True, False]
