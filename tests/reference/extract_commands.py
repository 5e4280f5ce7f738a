"""Collect every command line of the reference repositories' shell scripts and READMEs that runs one of the entry
scripts this project shares with them (datafree_kd.py, vanilla_kd.py, train_scratch.py), into
tests/fixtures/reference_commands.txt, which tests/test_reference_commands.py parses with our parsers.

Run it with checkouts of the pinned commits (Fast-Datafree's and CMI's are tests/reference/make_reference_values.py's;
NAYER's is the one --method nayer follows):

    git clone https://github.com/zju-vipa/Fast-Datafree && git -C Fast-Datafree checkout 0dcecbc
    git clone https://github.com/zju-vipa/CMI && git -C CMI checkout 9e79fa9
    git clone https://github.com/tmtuan1307/NAYER && git -C NAYER checkout c6bedcd
    python tests/reference/extract_commands.py Fast-Datafree CMI NAYER

Each output line is `<repository>/<file>: <command>`, with backslash continuations joined, `python` and everything
before it dropped, and shell redirections and comments removed."""
import argparse
import os
import re
import shlex

SCRIPTS = ("datafree_kd.py", "vanilla_kd.py", "train_scratch.py")
OUT = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "fixtures", "reference_commands.txt")


def logical_lines(text):
    """Lines with backslash continuations joined."""
    joined, current = [], ""
    for line in text.splitlines():
        stripped = line.rstrip()
        if stripped.endswith("\\"):
            current += stripped[:-1] + " "
            continue
        joined.append(current + stripped)
        current = ""
    if current:
        joined.append(current)
    return joined


def commands(text):
    for line in logical_lines(text):
        line = line.split("#", 1)[0] if not line.lstrip().startswith("python") else line
        scripts = "|".join(re.escape(s) for s in SCRIPTS)
        match = re.search(rf"python3?\s+(\S*(?:{scripts}))(.*)", line)
        if not match:
            continue
        words = shlex.split(match.group(2), comments=True)
        cut = next((i for i, w in enumerate(words) if w in (">", ">>", "|", "&", "&&", ";", "2>&1")
                    or w.startswith(">")), len(words))
        yield os.path.basename(match.group(1)), words[:cut]


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("checkouts", nargs="+", help="folders of reference checkouts")
    p.add_argument("--out", default=OUT)
    args = p.parse_args()
    rows = []
    for root in args.checkouts:
        name = os.path.basename(os.path.normpath(root))
        for folder, _, files in sorted(os.walk(root)):
            for f in sorted(files):
                if not f.endswith((".sh", ".md")):
                    continue
                path = os.path.join(folder, f)
                with open(path, encoding="utf-8", errors="replace") as fh:
                    for script, words in commands(fh.read()):
                        rel = os.path.relpath(path, root)
                        rows.append(f"{name}/{rel}: {script} {shlex.join(words)}")
    with open(args.out, "w") as fh:
        fh.write("\n".join(rows) + "\n")
    print(f"{len(rows)} commands -> {args.out}")


if __name__ == "__main__":
    main()
