"""Progress lines for logs without a terminal (-p/--print_freq): every N steps, with loss, images/s and ETA."""
import re
import sys

import torch

from engine.device import Precision
from engine.progress import Progress
from engine.train import train_epoch

LINE = re.compile(r"^\[epoch 3\] step (\d+)/10 loss=0\.5000 \d+\.\d img/s ETA \d+:\d\d$")


def run(every, start=0, tty=False, monkeypatch=None):
    monkeypatch.setattr(sys.stderr, "isatty", lambda: tty)
    lines = []
    progress = Progress(range(start, 10), 10, "epoch 3", every, lines.append, start)
    for step in progress:
        progress.update(step, torch.tensor(0.5), 8)
    return lines


def test_a_line_every_n_steps_and_at_the_end(monkeypatch):
    lines = run(4, monkeypatch=monkeypatch)
    assert [int(LINE.match(line).group(1)) for line in lines] == [4, 8, 10]


def test_a_resumed_epoch_counts_from_where_it_stopped(monkeypatch):
    assert [int(LINE.match(line).group(1)) for line in run(4, start=6, monkeypatch=monkeypatch)] == [8, 10]


def test_no_lines_on_a_terminal_or_without_print_freq(monkeypatch):
    assert run(4, tty=True, monkeypatch=monkeypatch) == []
    assert run(0, monkeypatch=monkeypatch) == []


def test_train_epoch_logs_its_steps(monkeypatch):
    monkeypatch.setattr(sys.stderr, "isatty", lambda: False)
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(4, 3))
    data = torch.utils.data.TensorDataset(torch.randn(20, 4), torch.randint(0, 3, (20,)))
    loader = torch.utils.data.DataLoader(data, batch_size=5)
    lines = []
    out = train_epoch(model, loader, torch.optim.SGD(model.parameters(), 0.1), torch.device("cpu"),
                      Precision(torch.device("cpu"), False), desc="epoch 0", log_every=2, log=lines.append)
    assert [line.split(" loss=")[0] for line in lines] == ["[epoch 0] step 2/4", "[epoch 0] step 4/4"]
    assert out["stopped"] is None and float(lines[-1].split("loss=")[1].split()[0]) > 0
