"""Every command line of the reference repositories' scripts and READMEs (zju-vipa/Fast-Datafree 0dcecbc,
zju-vipa/CMI 9e79fa9) parses with our entry scripts' parsers as pasted. The lines were collected by
tests/reference/extract_commands.py (its docstring says how to regenerate them)."""
import os
import shlex

import pytest

import datafree_kd
import train_scratch
import vanilla_kd
from engine.cli import parse_args

PARSERS = {"datafree_kd.py": datafree_kd.build_parser, "vanilla_kd.py": vanilla_kd.build_parser,
           "train_scratch.py": train_scratch.build_parser}
FIXTURE = os.path.join(os.path.dirname(__file__), "fixtures", "reference_commands.txt")


def reference_commands():
    with open(FIXTURE) as f:
        rows = [line.rstrip("\n").split(": ", 1) for line in f if line.strip()]
    return [pytest.param(source, command, id=f"{source}:{i}") for i, (source, command) in enumerate(rows)]


def test_the_fixture_holds_every_reference_script():
    sources = {source for source, _ in (p.values for p in reference_commands())}
    assert len(reference_commands()) >= 40
    assert "CMI/scripts/cmi/adv_cmi_cifar10_wrn402_wrn161.sh" in sources
    assert "Fast-Datafree/scripts/fast_cifar.sh" in sources


@pytest.mark.parametrize("source,command", reference_commands())
def test_reference_command_parses(source, command):
    script, *argv = shlex.split(command)
    args = parse_args(PARSERS[script](), argv)
    flags = dict(zip(argv, argv[1:], strict=False))   # each word -> the next one
    for flag in ("--dataset", "--teacher", "--student", "--method", "--model"):   # the values reach the run
        if flag in flags:
            assert getattr(args, flag[2:]) == flags[flag]
