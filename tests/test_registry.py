import pytest

import registry
import train_scratch
from engine.errors import UserError


def test_unknown_model_lists_valid_names():
    with pytest.raises(UserError, match="unknown model 'resnet9000'.*wrn40_2"):
        registry.get_model("resnet9000", num_classes=10)


def test_unknown_dataset_lists_valid_names():
    with pytest.raises(UserError, match="unknown dataset 'cifar11'.*cifar10"):
        registry.get_dataset("cifar11")


def test_dataset_aliases_and_info():
    assert registry.dataset_info("Fashion-MNIST") == (10, 1, 32)
    assert registry.dataset_info("cifar100") == (100, 3, 32)


def test_missing_imagefolder_names_the_path(tmp_path):
    with pytest.raises(UserError, match=str(tmp_path / "ILSVRC2012" / "train")):
        registry.get_dataset("imagenet", data_root=str(tmp_path))


def test_cli_prints_one_line_and_exits_2(capsys):
    with pytest.raises(SystemExit) as exc:
        train_scratch.main(["--model", "nope", "--dataset", "fmnist"])
    assert exc.value.code == 2
    err = capsys.readouterr().err   # read once: a second read would be empty
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: unknown model 'nope'")
    assert "Traceback" not in err


def test_cli_rejects_bad_flag_values(capsys):
    with pytest.raises(SystemExit) as exc:
        train_scratch.main(["--model", "resnet8", "--dataset", "fmnist", "--epochs", "0"])
    assert exc.value.code == 2
    assert "--epochs must be > 0" in capsys.readouterr().err
