"""model.results: every committed result file is of a known kind and has its keys; reports are written
atomically and checked; the command flags default to the bundled checkpoint."""
import argparse
import json

import pytest

from model.paths import DEFAULT_CHECKPOINT, WEIGHTS_DIR, bundled_checkpoints
from model.results import EXTERNAL, KINDS, METRICS, add_report_flags, report_path, write_report


def test_every_committed_result_file_is_a_known_kind_and_loads():
    checked = 0
    for checkpoint in bundled_checkpoints():
        for path in sorted(WEIGHTS_DIR.glob(f"{checkpoint.stem}.*.json")):
            kind = path.name[len(checkpoint.stem) + 1:-len(".json")]
            assert kind in KINDS, f"{path.name}: no result kind {kind!r} in model.results"
            assert KINDS[kind].read(checkpoint) is not None
            checked += 1
    assert checked >= 4 * 4  # every bundled network has at least metrics, external, ood and sequence files


def test_a_missing_file_reads_as_none_and_a_wrong_one_is_named(tmp_path):
    checkpoint = tmp_path / "net.safetensors"
    assert METRICS.read(checkpoint) is None
    METRICS.path(checkpoint).write_text(json.dumps({"accuracy": 0.5}))
    with pytest.raises(ValueError, match="lacks n_images, macro_f1"):
        METRICS.read(checkpoint)


def test_a_report_is_checked_then_written_whole(tmp_path, capsys):
    out = tmp_path / "deep" / "net.external.json"
    with pytest.raises(ValueError, match="not a external result"):
        write_report(out, {"accuracy": 1}, EXTERNAL)
    assert not out.exists()
    report = {key: 1 for key in EXTERNAL.keys}
    assert write_report(out, report, EXTERNAL) == out
    assert json.loads(out.read_text()) == report and capsys.readouterr().out == f"wrote {out}\n"
    assert [p.name for p in out.parent.iterdir()] == [out.name]  # no temporary file left behind


def test_the_command_flags_default_to_the_bundled_checkpoint(tmp_path):
    parser = argparse.ArgumentParser()
    add_report_flags(parser, EXTERNAL)
    args = parser.parse_args([])
    assert args.checkpoint == DEFAULT_CHECKPOINT and report_path(args, EXTERNAL) == EXTERNAL.path(DEFAULT_CHECKPOINT)
    args = parser.parse_args(["--checkpoint", str(tmp_path / "x.safetensors"), "--out", str(tmp_path / "y.json")])
    assert report_path(args, EXTERNAL) == tmp_path / "y.json"
