import json

from benchmarks import summarize


def write(tmp_path, name, **values):
    folder = tmp_path / name
    folder.mkdir()
    base = {"method": name, "teacher": "wrn40_2", "student": "wrn16_1", "teacher_acc1": 94.0, "best_acc1": 80.0,
            "last_acc1": 79.5, "epochs_done": 10, "warmup": 2, "ep_steps": 20, "kd_steps": 20,
            "synthesis_seconds": 10.0, "wall_seconds": 100.0, "device": "cpu"}
    (folder / "summary.json").write_text(json.dumps({**base, **values}))
    return str(folder / "summary.json")


def test_table_has_speedups_against_the_baseline_and_kd_step_totals(tmp_path):
    paths = [write(tmp_path, "deepinv", synthesis_seconds=400.0),
             write(tmp_path, "fast_meta", synthesis_seconds=8.0, best_acc1=85.25),
             write(tmp_path, "dfad", synthesis_seconds=20.0, kd_steps=5, ep_steps=20, warmup=0)]
    rows = summarize.main(paths + ["--out", str(tmp_path / "out" / "table"), "--baseline", "deepinv"])
    by = {r["method"]: r for r in rows}
    assert by["fast_meta"]["speedup"] == 50.0 and by["deepinv"]["speedup"] == 1.0
    assert by["fast_meta"]["kd_steps_total"] == 160 and by["dfad"]["kd_steps_total"] == 200
    table = (tmp_path / "out" / "table.md").read_text()
    assert "| fast_meta | fast_meta | wrn40_2 | wrn16_1 | 94.00 | 85.25 |" in table
    assert json.loads((tmp_path / "out" / "table.json").read_text())["rows"][1]["best_acc1"] == 85.25
