"""benchmarks/fmnist_report.py: the reproduction table and plot, built from a small fixture of summaries."""
import json
import os
import shutil

import pytest
from PIL import Image

from benchmarks import fmnist_report


def write(root, group, run, **values):
    folder = root / group / run
    folder.mkdir(parents=True)
    (folder / "summary.json").write_text(json.dumps(values))


def datafree(method, synthesis_seconds, acc, teacher="wrn40_2", student="wrn16_1", **extra):
    return dict(method=method, teacher=teacher, student=student, teacher_acc1=90.0, best_acc1=acc, last_acc1=acc,
                epochs_done=5, epochs=5, warmup=0, ep_steps=10, kd_steps=10, batch_size=32, val_subset=1000,
                synthesis_seconds=synthesis_seconds, wall_seconds=synthesis_seconds + 30.0, device="cpu (2 threads)",
                **extra)


@pytest.fixture
def run_dir(tmp_path):
    root = tmp_path / "run"
    write(root, "teachers", "wrn40_2", model="wrn40_2", best_acc1=90.0, epochs=1, wall_seconds=200.0,
          train_subset=10000, val_subset=1000, device="cpu (2 threads)")
    write(root, "wrn", "scratch", method="scratch", model="wrn16_1", best_acc1=60.5, epochs=1, train_steps=50,
          wall_seconds=20.0, val_subset=1000, device="cpu (2 threads)")
    write(root, "wrn", "vanilla_kd", method="vanilla_kd", teacher="wrn40_2", student="wrn16_1", teacher_acc1=90.0,
          best_acc1=70.25, epochs_done=1, epochs=1, synthesis_seconds=0.0, train_steps=50, batch_size=32,
          wall_seconds=40.0, val_subset=1000, device="cpu (2 threads)")
    write(root, "wrn", "deepinv", **datafree("deepinv", 100.0, 40.0))
    write(root, "wrn", "fast_meta-2", **datafree("fast_meta", 5.0, 50.0, g_steps=2))
    write(root, "wrn", "dafl", **datafree("dafl", 20.0, 30.0, g_steps=1))
    write(root, "r34", "deepinv", **datafree("deepinv", 400.0, 35.0, teacher="resnet34", student="resnet18"))
    write(root, "r34", "fast_meta-2", **datafree("fast_meta", 40.0, 45.0, teacher="resnet34", student="resnet18"))
    return root


def test_table_rows_speedups_and_steps(run_dir, tmp_path):
    out = str(tmp_path / "results" / "fmnist_table")
    report = fmnist_report.main([str(run_dir), "--schedule", "quick", "--out", out])
    rows = {(r["pair"], r["run"]): r for r in report["rows"]}
    assert len(rows) == 7 and [t["model"] for t in report["teachers"]] == ["wrn40_2"]
    # Speed-up is DeepInv's synthesis time over the row's, within each pair.
    assert rows["wrn", "fast_meta-2"]["speedup"] == 20.0 and rows["wrn", "dafl"]["speedup"] == 5.0
    assert rows["r34", "fast_meta-2"]["speedup"] == 10.0 and rows["r34", "deepinv"]["speedup"] == 1.0
    assert rows["wrn", "scratch"]["speedup"] is None and rows["wrn", "vanilla_kd"]["synthesis_seconds"] is None
    assert rows["wrn", "scratch"]["teacher"] == "wrn40_2"   # the scratch summary names no teacher
    assert {r["student_steps"] for r in report["rows"]} == {50}
    # Rows follow the paper's order within a pair.
    assert [r["pair"] for r in report["rows"]][:2] == ["r34", "r34"]
    assert [r["run"] for r in report["rows"] if r["pair"] == "wrn"] == ["scratch", "vanilla_kd", "deepinv", "dafl",
                                                                       "fast_meta-2"]
    table = open(out + ".md").read()
    assert "Schedule: quick." in table
    assert "| wrn40_2 -> wrn16_1 | Fast-2 | 50.00 | 5.00 | 35.00 | 20.00 | 50 | 32 |" in table
    assert "| wrn40_2 | 90.00 | 1 | 10000 | 200.00 |" in table
    assert "fixed random subset of the test split (1000 images)" in table
    # The paper's layout: methods down, pairs across.
    assert "| method | resnet34 -> resnet18 | wrn40_2 -> wrn16_1 |" in table
    assert "| Fast-2 | 45.00 (40 s) | 50.00 (5 s) |" in table and "| DAFL | - | 30.00 (20 s) |" in table
    assert "| Scratch (real data) | - | 60.50 |" in table
    assert json.load(open(out + ".json"))["rows"] == report["rows"]
    with Image.open(out + ".png") as image:
        assert image.format == "PNG" and image.width > 600 and image.height > 400


def test_table_and_plot_are_redrawn_from_the_json_alone(run_dir, tmp_path):
    out = str(tmp_path / "fmnist_table")
    fmnist_report.main([str(run_dir), "--out", out])
    table = open(out + ".md").read()
    os.remove(out + ".png")
    os.remove(out + ".md")
    shutil.rmtree(run_dir)
    fmnist_report.main(["--from_json", out + ".json"])
    assert open(out + ".md").read() == table
    with Image.open(out + ".png") as image:
        # Two pairs: two panels side by side.
        assert image.width > image.height


def test_an_empty_run_dir_is_a_clear_error(tmp_path):
    with pytest.raises(SystemExit, match="no PAIR/ROW/summary.json under .*reproduce_fmnist.sh"):
        fmnist_report.main([str(tmp_path), "--out", str(tmp_path / "t")])
