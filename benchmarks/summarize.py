"""Collect summary.json files of runs into a markdown table and a JSON file under results/.

    python -m benchmarks.summarize run/fmnist_methods/*/summary.json --out results/fmnist_methods --baseline deepinv
"""
import argparse
import json
import os

from benchmarks.common import commit

COLUMNS = ["method", "teacher", "student", "teacher_acc1", "best_acc1", "last_acc1", "synthesis_seconds",
           "wall_seconds", "speedup", "kd_steps_total", "device"]


def load_rows(paths, baseline=None):
    rows = []
    for path in paths:
        with open(path) as f:
            s = json.load(f)
        s["run"] = os.path.basename(os.path.dirname(os.path.abspath(path)))
        if s.get("kd_steps"):
            kd_epochs = s["epochs_done"] - s.get("warmup", 0)
            s["kd_steps_total"] = kd_epochs * (s["ep_steps"] // s["kd_steps"]) * s["kd_steps"]
        rows.append(s)
    base = next((r for r in rows if r.get("run") == baseline or r.get("method") == baseline), None)
    for r in rows:
        if base and r.get("synthesis_seconds"):
            r["speedup"] = base["synthesis_seconds"] / r["synthesis_seconds"]
        else:
            r["speedup"] = None
    return rows


def fmt(value):
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.2f}"
    return str(value)


def markdown(rows, columns=COLUMNS):
    head = "| run | " + " | ".join(columns) + " |"
    sep = "|" + "---|" * (len(columns) + 1)
    body = ["| " + r["run"] + " | " + " | ".join(fmt(r.get(c)) for c in columns) + " |" for r in rows]
    return "\n".join([head, sep, *body])


def validity(rows):
    """The checks a reader needs next to the table: how good the teachers are, where the noise control (chance
    level) ends, and how many seeds each number rests on."""
    teachers = sorted({(r.get("teacher"), r.get("teacher_acc1")) for r in rows if r.get("teacher_acc1") is not None})
    lines = ["Validity: teacher " + ", ".join(f"{t} {fmt(a)}%" for t, a in teachers) + " top-1 on the test split."]
    noise = [r for r in rows if r.get("method") == "noise"]
    if noise:
        lines.append(f"Noise control (students distilled on Gaussian noise): best {fmt(noise[0].get('best_acc1'))}%; "
                     "rows near it learned nothing from their images.")
    seeds = sorted({str(r.get("seed")) for r in rows})
    lines.append(f"Seeds: {', '.join(seeds)} (one run per row unless a run is listed twice).")
    return "\n".join(lines)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("summaries", nargs="+")
    p.add_argument("--out", required=True, help="path prefix: writes OUT.md and OUT.json")
    p.add_argument("--baseline", default=None, help="run or method whose synthesis time is the 1x speed-up")
    args = p.parse_args(argv)
    rows = load_rows(args.summaries, args.baseline)
    table = markdown(rows) + "\n\n" + validity(rows)
    print(table)
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    with open(args.out + ".md", "w") as f:
        f.write(table + "\n")
    with open(args.out + ".json", "w") as f:
        json.dump({"commit": commit(), "rows": rows}, f, indent=2)
    print(f"wrote {args.out}.md and {args.out}.json")
    return rows


if __name__ == "__main__":
    main()
