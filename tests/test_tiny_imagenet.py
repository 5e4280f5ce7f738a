"""Tiny-ImageNet in the official tiny-imagenet-200 layout, on a tiny generated copy."""
import json
import os

import pytest
import torch
from PIL import Image

import datafree_kd
import registry
from engine.errors import UserError
from engine.tiny_imagenet import URL, TinyImageNet

TOL = 4 / 255 / 0.5   # a few grey levels after Normalize(0.5, 0.5): JPEG rounding

WNIDS_FILE_ORDER = ["n09193705", "n01443537", "n02124075"]   # wnids.txt is not sorted
WNIDS = sorted(WNIDS_FILE_ORDER)                               # labels 0, 1, 2 follow the sorted wnids
COLORS = [(200, 40, 40), (40, 200, 60), (50, 60, 210)]         # label -> solid colour of its images
GREY = 130                                                     # the grayscale train image
TRAIN_FILES = {"n01443537": ["n01443537_0.JPEG", "n01443537_10.JPEG", "n01443537_2.JPEG"],
               "n02124075": ["n02124075_1.JPEG", "n02124075_0.JPEG"],
               "n09193705": ["n09193705_3.JPEG", "n09193705_12.JPEG"]}
GRAYSCALE = "n02124075_1.JPEG"
VAL_LABELS = {"val_3.JPEG": "n02124075", "val_0.JPEG": "n09193705", "val_10.JPEG": "n01443537",
              "val_1.JPEG": "n01443537", "val_2.JPEG": "n02124075"}


def save_jpeg(path, color):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    mode = "L" if isinstance(color, int) else "RGB"
    Image.new(mode, (64, 64), color).save(path, quality=95)


def make_tiny_imagenet(data_root):
    """data_root/tiny-imagenet-200 as in tiny-imagenet-200.zip, 3 classes; returns its path."""
    root = data_root / "tiny-imagenet-200"
    root.mkdir(parents=True)
    (root / "wnids.txt").write_text("\n".join(WNIDS_FILE_ORDER) + "\n")
    (root / "words.txt").write_text("".join(f"{w}\tthing {i}\n" for i, w in enumerate(WNIDS_FILE_ORDER)))
    for wnid, files in TRAIN_FILES.items():
        for name in files:
            save_jpeg(str(root / "train" / wnid / "images" / name),
                      GREY if name == GRAYSCALE else COLORS[WNIDS.index(wnid)])
        (root / "train" / wnid / f"{wnid}_boxes.txt").write_text(
            "".join(f"{name}\t0\t0\t63\t63\n" for name in files))
    lines = []
    for name, wnid in VAL_LABELS.items():
        save_jpeg(str(root / "val" / "images" / name), COLORS[WNIDS.index(wnid)])
        lines.append(f"{name}\t{wnid}\t3\t5\t60\t58\n")
    (root / "val" / "val_annotations.txt").write_text("".join(lines))
    save_jpeg(str(root / "test" / "images" / "test_0.JPEG"), (0, 0, 0))   # unlabelled: never read
    return root


@pytest.fixture
def data_root(tmp_path):
    make_tiny_imagenet(tmp_path / "data")
    return tmp_path / "data"


def label_of(x):
    """The label whose colour fills the centre of a normalised (3, 64, 64) image."""
    centre = x[:, 32, 32]
    for label, color in enumerate(COLORS):
        if torch.allclose(centre, torch.tensor(color, dtype=torch.float32) / 255 * 2 - 1, atol=TOL):
            return label
    raise AssertionError(f"centre {centre} is no class colour")


def test_samples_and_labels_follow_the_sorted_wnids(data_root):
    root = data_root / "tiny-imagenet-200"
    num_classes, train, val = registry.get_dataset("tiny_imagenet", str(data_root))
    assert num_classes == 200 and registry.dataset_info("tiny-imagenet") == (200, 3, 64)
    assert train.classes == val.classes == WNIDS
    # train: class folders in sorted-wnid order, each folder's files sorted by name (_10 before _2)
    expected = [(str(root / "train" / w / "images" / name), WNIDS.index(w))
                for w in WNIDS for name in sorted(TRAIN_FILES[w])]
    assert list(zip(train.paths, train.targets, strict=True)) == expected
    assert train.targets == [0, 0, 0, 1, 1, 2, 2]
    for i, (path, label) in enumerate(expected):
        x, y = train[i]
        assert y == label and x.shape == (3, 64, 64) and x.dtype == torch.float32
        if os.path.basename(path) == GRAYSCALE:   # a grayscale JPEG comes back as 3 equal channels
            assert torch.allclose(x[:, 32, 32], torch.full((3,), GREY / 255 * 2 - 1), atol=TOL)
        else:
            assert label_of(x) == y
    # val: val/images sorted by name, each image labelled by val_annotations.txt
    names = sorted(VAL_LABELS)
    assert [os.path.basename(p) for p in val.paths] == names == [f"val_{i}.JPEG" for i in (0, 1, 10, 2, 3)]
    assert val.targets == [WNIDS.index(VAL_LABELS[n]) for n in names] == [2, 0, 0, 1, 1]
    for i in range(len(val)):
        x, y = val[i]
        assert x.shape == (3, 64, 64) and y == val.targets[i] and label_of(x) == y
    # the val transform is deterministic: no crop or flip
    assert torch.equal(val[0][0], val[0][0])


def test_nested_folder_as_the_reference_reads_it(tmp_path):
    make_tiny_imagenet(tmp_path / "data" / "tiny-imagenet-200")
    _, train, val = registry.get_dataset("tiny_imagenet", str(tmp_path / "data"))
    assert len(train) == 7 and len(val) == 5


def one_line_error(build):
    with pytest.raises(UserError) as err:
        build()
    message = str(err.value)
    assert "\n" not in message
    return message


def test_missing_copy_or_files_name_the_problem_and_the_fix(tmp_path, data_root):
    missing = one_line_error(lambda: registry.get_dataset("tiny_imagenet", str(tmp_path / "nowhere")))
    assert str(tmp_path / "nowhere" / "tiny-imagenet-200") + " not found" in missing
    assert URL in missing and "val/val_annotations.txt" in missing and "train/<wnid>/images/<image>" in missing

    root = data_root / "tiny-imagenet-200"
    (root / "val" / "val_annotations.txt").rename(tmp_path / "annotations")
    message = one_line_error(lambda: registry.get_dataset("tiny_imagenet", str(data_root)))
    assert message.startswith(f"dataset 'tiny_imagenet': {root / 'val' / 'val_annotations.txt'} not found")
    assert f"unzip {URL} into {data_root}" in message
    (tmp_path / "annotations").rename(root / "val" / "val_annotations.txt")

    save_jpeg(str(root / "val" / "images" / "val_7.JPEG"), COLORS[0])   # an image the annotations do not list
    message = one_line_error(lambda: TinyImageNet(str(root), "val"))
    unlisted = f"{root / 'val' / 'images' / 'val_7.JPEG'} is not listed in {root / 'val' / 'val_annotations.txt'}"
    assert unlisted in message and URL in message
    assert len(TinyImageNet(str(root), "train")) == 7   # the train split does not read val/

    (root / "wnids.txt").unlink()
    message = one_line_error(lambda: TinyImageNet(str(root), "train"))
    assert f"{root / 'wnids.txt'} not found" in message and URL in message


def test_fast_meta_on_tiny_imagenet(data_root, tmp_path, capsys):
    torch.manual_seed(0)
    teacher = tmp_path / "tiny_imagenet_resnet34.pth"
    torch.save({"state_dict": registry.get_model("resnet34", num_classes=200).state_dict()}, teacher)
    flags = ["--method", "fast_meta", "--dataset", "tiny_imagenet", "--data_root", str(data_root),
             "--teacher", "resnet34", "--student", "resnet18", "--teacher_ckpt", str(teacher), "--epochs", "1",
             "--batch_size", "4", "--synthesis_batch_size", "4", "--g_steps", "1", "--kd_steps", "1",
             "--ep_steps", "1", "--ngf", "8", "--val_subset", "4", "-j", "0", "--seed", "0"]
    held = {}
    state = datafree_kd.main([*flags, "--save_dir", str(tmp_path / "run")],
                             synthesizer_hook=lambda synth: held.update(synth=synth))
    assert held["synth"].pool.tensor().shape == (4, 3, 64, 64)
    summary = json.loads((tmp_path / "run" / "summary.json").read_text())
    assert summary["epochs_done"] == 1 and summary["dataset"] == "tiny_imagenet"
    assert state["last_acc1"] is not None and state["teacher_acc1"] is not None

    # the same command without val_annotations.txt: one line on stderr, exit code 2
    (data_root / "tiny-imagenet-200" / "val" / "val_annotations.txt").unlink()
    capsys.readouterr()
    with pytest.raises(SystemExit) as exc:
        datafree_kd.main([*flags, "--save_dir", str(tmp_path / "run2")])
    assert exc.value.code == 2
    err = capsys.readouterr().err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: dataset 'tiny_imagenet': ") and "Traceback" not in err
    assert "val_annotations.txt not found" in lines[0]
