import pytest
import torch
import torch.nn.functional as F

from model import read_metadata
from model.classifier.checkpoint import save_checkpoint
from model.classifier.factory import create_model
from model.classifier.preprocess import PreprocessSpec
from model.training.config import TrainConfig
from model.training.distill import Teacher, distillation_loss
from model.training.train import parse_args, run
from tests.conftest import CLASSES, TINY_SPEC
from tests.test_train import TINY


def test_distillation_loss_is_zero_only_when_the_student_agrees():
    teacher_logits = torch.tensor([[2.0, 0.5, -1.0, 0.0], [0.0, 3.0, 0.0, -2.0]])
    teacher_probs = torch.softmax(teacher_logits / 2.0, dim=1)
    assert distillation_loss(teacher_logits, teacher_probs, 2.0).item() == pytest.approx(0.0, abs=1e-6)
    assert distillation_loss(torch.zeros(2, 4), teacher_probs, 2.0).item() > 0.01


def test_distillation_gradient_moves_the_student_towards_the_teacher():
    teacher_probs = torch.softmax(torch.tensor([[3.0, 0.0, 0.0, -1.0]]) / 2.0, dim=1)
    student = torch.zeros(1, 4, requires_grad=True)
    before = distillation_loss(student, teacher_probs, 2.0)
    before.backward()
    with torch.no_grad():
        moved = student - 0.5 * student.grad
    assert distillation_loss(moved, teacher_probs, 2.0) < before
    assert moved.argmax().item() == 0


def test_teacher_soft_targets_at_its_own_input_size(tiny_checkpoint):
    student_spec = PreprocessSpec(input_size=48, stage_size=56)
    teacher = Teacher.from_checkpoints([tiny_checkpoint, tiny_checkpoint], CLASSES, student_spec,
                                       torch.device("cpu"))
    pictures = torch.rand(3, 1, 48, 48)
    soft = teacher.soft_targets(pictures)
    assert soft.shape == (3, len(CLASSES))
    torch.testing.assert_close(soft.sum(1), torch.ones(3))
    # Two copies of one network: the ensemble equals one of them, fed at its own 32 px.
    alone = torch.softmax(teacher.networks[0](TINY_SPEC.normalise(pictures)) / teacher.temperature, dim=1)
    torch.testing.assert_close(soft, alone, atol=1e-5, rtol=1e-4)
    assert not any(p.requires_grad for p in teacher.networks[0].parameters())


def test_blend_weights_the_two_terms(tiny_checkpoint):
    logits, hard = torch.randn(2, 4), torch.tensor(0.7)
    pictures = torch.rand(2, 1, 32, 32)
    only_labels = Teacher.from_checkpoints([tiny_checkpoint], CLASSES, TINY_SPEC, torch.device("cpu"), weight=0.0)
    assert only_labels.blend(hard, logits, pictures).item() == pytest.approx(0.7)
    only_teacher = Teacher.from_checkpoints([tiny_checkpoint], CLASSES, TINY_SPEC, torch.device("cpu"), weight=1.0)
    expected = distillation_loss(logits, only_teacher.soft_targets(pictures), 2.0)
    assert only_teacher.blend(hard, logits, pictures).item() == pytest.approx(expected.item())


def test_teacher_refuses_other_classes_crops_and_settings(tiny_checkpoint, tmp_path):
    cpu = torch.device("cpu")
    with pytest.raises(ValueError, match="classes"):
        Teacher.from_checkpoints([tiny_checkpoint], CLASSES[::-1], TINY_SPEC, cpu)
    with pytest.raises(ValueError, match="crop_to_head"):
        Teacher.from_checkpoints([tiny_checkpoint], CLASSES, PreprocessSpec(crop_to_head=False), cpu)
    with pytest.raises(ValueError, match="temperature"):
        Teacher.from_checkpoints([tiny_checkpoint], CLASSES, TINY_SPEC, cpu, temperature=0.0)
    other = tmp_path / "other.safetensors"
    save_checkpoint(other, create_model("resnet18", 3).state_dict(),
                    {"arch": "resnet18", "classes": CLASSES[:3], "preprocess": TINY_SPEC.to_dict()})
    with pytest.raises(ValueError, match="classes"):
        Teacher.from_checkpoints([other], CLASSES, TINY_SPEC, cpu)


def test_training_with_a_teacher_records_it(tiny_dataset, tiny_checkpoint, tmp_path):
    cfg = TrainConfig(data=str(tiny_dataset), out=str(tmp_path), epochs=2, teachers=[str(tiny_checkpoint)],
                      distill_weight=0.7, **TINY)
    best = run(cfg)
    saved = read_metadata(best)["train_config"]
    assert saved["teachers"] == [str(tiny_checkpoint)] and saved["distill_weight"] == 0.7
    # The same command resumes; another teacher weight is another run.
    with pytest.raises(ValueError, match="distill_weight"):
        run(TrainConfig(**{**cfg.__dict__, "epochs": 2, "distill_weight": 0.3}))


def test_cli_takes_several_teachers():
    cfg = parse_args(["--teachers", "a.safetensors", "b.safetensors", "--distill-temperature", "3",
                      "--cache-dir", "none"])
    assert cfg.teachers == ["a.safetensors", "b.safetensors"] and cfg.distill_temperature == 3.0
    assert parse_args(["--cache-dir", "none"]).teachers == []


def test_teacher_outputs_match_the_network_in_eval_mode(tiny_checkpoint):
    teacher = Teacher.from_checkpoints([tiny_checkpoint], CLASSES, TINY_SPEC, torch.device("cpu"), temperature=1.0)
    pictures = torch.rand(2, 1, 32, 32)
    logits = teacher.networks[0](TINY_SPEC.normalise(pictures))
    torch.testing.assert_close(teacher.soft_targets(pictures), F.softmax(logits, dim=1))
    assert not teacher.networks[0].training
