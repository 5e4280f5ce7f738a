"""Test-only torchrun entry point: an entry script on generated data; every rank dumps what it trained.

    torchrun --standalone --nproc_per_node 2 tests/dist_launcher.py DUMP_DIR {datafree_kd|train_scratch} FLAGS...

Rank r writes DUMP_DIR/rank{r}.pt: {"model": {name: tensor}} (and "generator" for datafree_kd). The project
root must be on PYTHONPATH (tests/test_distributed.py sets it); this folder is the script's own."""
import os
import sys

import torch

import datafree_kd
import registry
import train_scratch
from helpers import make_blobs


def fake_get_dataset(name, data_root="data", in_memory=False):
    """Generated 1x32x32 data reported as 'fmnist', like the tiny_data fixture."""
    return 10, make_blobs(256, seed=0), make_blobs(64, seed=1)


def main():
    dump_dir, script, argv = sys.argv[1], sys.argv[2], sys.argv[3:]
    registry.get_dataset = fake_get_dataset
    entry = {"datafree_kd": datafree_kd, "train_scratch": train_scratch}[script]
    held, real_wrap = {}, entry.wrap_ddp

    def remember_model(model, device):
        held["model"] = model
        return real_wrap(model, device)

    entry.wrap_ddp = remember_model
    kwargs = {}
    if script == "datafree_kd":
        kwargs["synthesizer_hook"] = lambda synth: held.update(generator=synth.generator)
    entry.main(argv, **kwargs)
    dump = {key: {n: p.detach().cpu() for n, p in m.named_parameters()} for key, m in held.items()}
    torch.save(dump, os.path.join(dump_dir, f"rank{os.environ['RANK']}.pt"))


if __name__ == "__main__":
    main()
