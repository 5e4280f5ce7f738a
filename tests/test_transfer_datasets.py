"""Transfer-set datasets (Places365, ImageNet 32x32, CUB-200, Stanford Dogs/Cars) on tiny generated copies."""
import json
import os
import pickle
import re
import sys

import numpy as np
import pytest
import torch
from PIL import Image
from scipy.io import savemat

import registry
import vanilla_kd
from engine.errors import UserError
from helpers import make_blobs

TOL = 4 / 255 / 0.5   # a few grey levels after Normalize(0.5, 0.5): JPEG rounding


def color(label):
    """A class-specific colour (4 of them), so a sample's pixels tell which label its file was given."""
    k = label % 4
    return (30 + 60 * k, 200 - 50 * k, 90 + 7 * k)


def write_image(path, label, size=(32, 32)):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    Image.new("RGB", size, color(label)).save(path)


def assert_sample(sample, num_labels, size):
    """(3, size, size) image normalised with mean=std=0.5 whose colour is that of its label."""
    x, y = sample
    assert isinstance(y, int) and 0 <= y < num_labels
    assert x.shape == (3, size, size) and x.dtype == torch.float32
    assert x.min() >= -1 - 1e-6 and x.max() <= 1 + 1e-6
    # The image's centre is never padding or crop border: it holds the label's colour, mapped c/255 -> 2c/255 - 1.
    centre = x[:, size // 2, size // 2]
    expected = torch.tensor(color(y), dtype=torch.float32) / 255 * 2 - 1
    assert torch.allclose(centre, expected, atol=TOL), (y, centre, expected)
    return y


def make_image_folder(root, classes=3, per_class=2, size=(32, 32)):
    for split in ("train", "val"):
        for c in range(classes):
            for i in range(per_class):
                write_image(os.path.join(root, split, f"class_{c}", f"{i}.png"), c, size)


# ------------------------------------------------------------------------------------------------ Places365
@pytest.mark.parametrize("name,folder,size,image", [
    ("places365_32x32", "Places365_32x32", 32, (32, 32)),
    ("places365_64x64", "Places365_64x64", 64, (64, 64)),
    ("places365", "Places365", 224, (300, 260)),
])
def test_places365_image_folders(tmp_path, name, folder, size, image):
    make_image_folder(tmp_path / folder, size=image)
    assert registry.dataset_info(name) == (365, 3, size)
    num_classes, train, val = registry.get_dataset(name, data_root=str(tmp_path))
    assert num_classes == 365 and len(train) == 6 and len(val) == 6
    assert sorted(assert_sample(train[i], 3, size) for i in range(6)) == [0, 0, 1, 1, 2, 2]
    assert sorted(assert_sample(val[i], 3, size) for i in range(6)) == [0, 0, 1, 1, 2, 2]
    assert registry.NORMALIZE_DICT[name] == dict(mean=(0.5, 0.5, 0.5), std=(0.5, 0.5, 0.5))


def test_places365_64x64_val_split_is_optional(tmp_path):
    make_image_folder(tmp_path / "Places365_64x64", size=(64, 64))
    for c in range(3):
        for f in (tmp_path / "Places365_64x64" / "val" / f"class_{c}").iterdir():
            f.unlink()
        (tmp_path / "Places365_64x64" / "val" / f"class_{c}").rmdir()
    (tmp_path / "Places365_64x64" / "val").rmdir()
    _, train, val = registry.get_dataset("places365_64x64", data_root=str(tmp_path))
    assert len(train) == 6 and val is None
    # The 32x32 copy needs its val split.
    make_image_folder(tmp_path / "Places365_32x32")
    (tmp_path / "Places365_32x32" / "val").rename(tmp_path / "elsewhere")
    with pytest.raises(UserError, match=re.escape(str(tmp_path / "Places365_32x32" / "val"))):
        registry.get_dataset("places365_32x32", data_root=str(tmp_path))


def test_empty_image_folder_is_a_user_error(tmp_path):
    (tmp_path / "Places365_32x32" / "train").mkdir(parents=True)
    with pytest.raises(UserError, match=re.escape(str(tmp_path / "Places365_32x32" / "train"))):
        registry.get_dataset("places365_32x32", data_root=str(tmp_path))


# ------------------------------------------------------------------------------------------- ImageNet 32x32
def batch_rows(labels):
    """Rows of 3*32*32 bytes in the downsampled-ImageNet order (R plane, G plane, B plane); labels start at 1."""
    rows = np.zeros((len(labels), 3, 32, 32), np.uint8)
    for i, label in enumerate(labels):
        rows[i] = np.array(color(label - 1), np.uint8)[:, None, None]
    return rows.reshape(len(labels), -1)


def write_batches(folder, npz=False):
    os.makedirs(folder, exist_ok=True)
    batches = {"train_data_batch_1": [1, 2, 3], "train_data_batch_2": [3, 1], "train_data_batch_10": [2],
               "val_data": [2, 3, 1, 1]}
    for name, labels in batches.items():
        if npz:
            np.savez(os.path.join(folder, name + ".npz"), data=batch_rows(labels), labels=np.array(labels))
        else:
            entry = {"data": batch_rows(labels), "labels": labels, "mean": np.zeros(3072)}
            with open(os.path.join(folder, name), "wb") as f:
                pickle.dump(entry, f, protocol=2)
    return [label - 1 for name in batches if name != "val_data" for label in batches[name]]


@pytest.mark.parametrize("npz", [False, True])
@pytest.mark.parametrize("where", ["ImageNet_32x32", "."])
def test_imagenet_32x32_downsampled_batches(tmp_path, npz, where):
    train_labels = write_batches(tmp_path / where, npz=npz)
    name = "imagenet_32x32" if where != "." else "small_imagenet"   # upstream's name for batches in data_root
    num_classes, train, val = registry.get_dataset(name, data_root=str(tmp_path))
    assert num_classes == 1000 and registry.dataset_info(name) == (1000, 3, 32)
    assert len(train) == 6 and len(val) == 4
    # Batches are read in numeric order (1, 2, 10), labels shifted to start at 0.
    assert [int(t) for t in train.targets] == train_labels == [0, 1, 2, 2, 0, 1]
    assert [assert_sample(train[i], 3, 32) for i in range(6)] == train_labels
    assert [assert_sample(val[i], 3, 32) for i in range(4)] == [1, 2, 0, 0]
    assert assert_sample(val[-1], 3, 32) == 0


def test_imagenet_32x32_image_folder_and_wrong_size(tmp_path):
    make_image_folder(tmp_path / "ImageNet_32x32")
    _, train, val = registry.get_dataset("imagenet_32x32", data_root=str(tmp_path))
    assert len(train) == 6 and sorted(assert_sample(val[i], 3, 32) for i in range(6)) == [0, 0, 1, 1, 2, 2]

    other = tmp_path / "other"   # 64x64 batches are not ImageNet 32x32
    other.mkdir()
    for name in ("train_data_batch_1", "val_data"):
        with open(other / name, "wb") as f:
            pickle.dump({"data": np.zeros((2, 3 * 64 * 64), np.uint8), "labels": [1, 2]}, f)
    with pytest.raises(UserError, match="rows of 3072 bytes"):
        registry.get_dataset("imagenet_32x32", data_root=str(other))


# ------------------------------------------------------------------------------------------------- CUB-200
def make_cub(root):
    base = root / "CUB200" / "CUB_200_2011"
    classes = ["001.Black_footed_Albatross", "002.Laysan_Albatross", "003.Sooty_Albatross"]
    # (image id, class id, is_training_img); ids deliberately not grouped by class or split
    table = [(1, 2, 1), (2, 1, 0), (3, 3, 1), (4, 1, 1), (5, 2, 0), (6, 3, 0), (7, 1, 1), (8, 3, 1)]
    lines = {"images.txt": [], "image_class_labels.txt": [], "train_test_split.txt": []}
    for img_id, cls, is_train in table:
        rel = f"{classes[cls - 1]}/{classes[cls - 1].split('.')[1]}_{img_id:04d}.jpg"
        write_image(str(base / "images" / rel), cls - 1, size=(90, 70))
        lines["images.txt"].append(f"{img_id} {rel}")
        lines["image_class_labels.txt"].append(f"{img_id} {cls}")
        lines["train_test_split.txt"].append(f"{img_id} {is_train}")
    for name, rows in lines.items():
        (base / name).write_text("\n".join(rows) + "\n")
    return base


def test_cub200(tmp_path):
    base = make_cub(tmp_path)
    num_classes, train, val = registry.get_dataset("cub200", data_root=str(tmp_path))
    assert num_classes == 200 and registry.dataset_info("cub200") == (200, 3, 64)
    assert len(train) == 5 and len(val) == 3
    assert [assert_sample(train[i], 200, 64) for i in range(5)] == [1, 2, 0, 0, 2]
    assert [assert_sample(val[i], 200, 64) for i in range(3)] == [0, 1, 2]
    (base / "train_test_split.txt").unlink()
    with pytest.raises(UserError, match=re.escape(str(base / "train_test_split.txt"))):
        registry.get_dataset("cub200", data_root=str(tmp_path))


# ------------------------------------------------------------------------------ MAT-files as MATLAB writes them
def cell(strings):
    """An Nx1 MATLAB cell array of char arrays."""
    arr = np.empty((len(strings), 1), dtype=object)
    arr[:, 0] = strings
    return arr


def struct_array(records):
    """A 1xN MATLAB struct array of dicts with the same keys (savemat writes a record array as one)."""
    fields = list(records[0])
    arr = np.empty((1, len(records)), dtype=[(f, object) for f in fields])
    for i, record in enumerate(records):
        arr[0, i] = tuple(record[f] for f in fields)
    return arr


def write_mat(path, variables, compress=False):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    savemat(path, variables, do_compression=compress)


def make_dogs_root(root):
    """Images/ of 3 breeds and the two split lists; returns {split: labels starting at 0}."""
    breeds = ["n02085620-Chihuahua", "n02085782-Japanese_spaniel", "n02085936-Maltese_dog"]
    splits = {"train": [(2, 1), (1, 1), (3, 1), (1, 2)], "test": [(3, 2), (2, 2)]}
    for split, items in splits.items():
        files = [f"{breeds[c - 1]}/{breeds[c - 1].split('-')[0]}_{split}{k}.jpg" for c, k in items]
        for f, (c, _) in zip(files, items, strict=True):
            write_image(str(root / "Images" / f), c - 1, size=(120, 80))
        labels = np.array([[c] for c, _ in items], dtype=np.float64)   # Nx1 doubles, 1-based, one per file
        write_mat(str(root / f"{split}_list.mat"), {"file_list": cell(files), "annotation_list": cell(files),
                                                    "labels": labels}, compress=split == "test")
    return {split: [c - 1 for c, _ in items] for split, items in splits.items()}


# ------------------------------------------------------------------------------------------- Stanford Dogs
def test_stanford_dogs(tmp_path):
    root = tmp_path / "StanfordDogs"
    labels = make_dogs_root(root)
    num_classes, train, val = registry.get_dataset("stanford_dogs", data_root=str(tmp_path))
    assert num_classes == 120 and registry.dataset_info("stanford_dogs") == (120, 3, 64)
    assert [assert_sample(train[i], 120, 64) for i in range(len(train))] == labels["train"] == [1, 0, 2, 0]
    assert [assert_sample(val[i], 120, 64) for i in range(len(val))] == labels["test"] == [2, 1]
    (root / "test_list.mat").unlink()
    with pytest.raises(UserError, match=re.escape(str(root / "test_list.mat"))):
        registry.get_dataset("stanford_dogs", data_root=str(tmp_path))


def test_unreadable_mat_file_is_a_user_error(tmp_path):
    root = tmp_path / "StanfordDogs"
    make_dogs_root(root)
    (root / "train_list.mat").write_bytes(b"\0not a MAT-file" * 16)
    with pytest.raises(UserError, match=re.escape(str(root / "train_list.mat")) + " is not a MAT-file") as err:
        registry.get_dataset("stanford_dogs", data_root=str(tmp_path))
    assert "\n" not in str(err.value)


def test_missing_scipy_says_how_to_install_it(tmp_path, monkeypatch):
    make_dogs_root(tmp_path / "StanfordDogs")
    monkeypatch.setitem(sys.modules, "scipy.io", None)   # `from scipy.io import ...` raises ImportError
    with pytest.raises(UserError) as err:
        registry.get_dataset("stanford_dogs", data_root=str(tmp_path))
    message = str(err.value)
    assert "scipy" in message and message.endswith("pip install scipy") and "\n" not in message


# ------------------------------------------------------------------------------------------- Stanford Cars
def test_stanford_cars(tmp_path):
    root = tmp_path / "StanfordCars"
    splits = {"train": [3, 1, 196, 2], "test": [2, 196, 1]}
    for split, classes in splits.items():
        annotations = []
        for i, c in enumerate(classes):
            fname = f"{i + 1:05d}.jpg"
            write_image(str(root / f"cars_{split}" / fname), c - 1, size=(100, 66))
            annotations.append({"bbox_x1": 1, "bbox_y1": 2, "bbox_x2": 60, "bbox_y2": 40, "class": c,
                                "fname": fname})
        # the labelled test annotations next to devkit/, as torchvision keeps them
        path = root / "devkit" / "cars_train_annos.mat" if split == "train" else root / "cars_test_annos_withlabels.mat"
        write_mat(str(path), {"annotations": struct_array(annotations)}, compress=split == "train")
    num_classes, train, val = registry.get_dataset("stanford_cars", data_root=str(tmp_path))
    assert num_classes == 196 and registry.dataset_info("stanford_cars") == (196, 3, 64)
    assert [t for t in train.targets] == [2, 0, 195, 1] and [t for t in val.targets] == [1, 195, 0]
    assert [assert_sample(train[i], 196, 64) for i in range(4)] == [2, 0, 195, 1]
    assert [assert_sample(val[i], 196, 64) for i in range(3)] == [1, 195, 0]
    (root / "cars_test_annos_withlabels.mat").unlink()
    with pytest.raises(UserError, match=re.escape(str(root / "devkit" / "cars_test_annos_withlabels.mat"))):
        registry.get_dataset("stanford_cars", data_root=str(tmp_path))


def test_one_item_lists_and_annotations(tmp_path):
    """scipy gives a 1x1 cell as a str, a 1x1 struct array as a dict and a 1x1 double as a scalar."""
    dogs = tmp_path / "StanfordDogs"
    make_dogs_root(dogs)
    write_image(str(dogs / "Images" / "b" / "one.jpg"), 2, size=(40, 30))
    write_mat(str(dogs / "test_list.mat"), {"file_list": cell(["b/one.jpg"]), "labels": np.array([[3.0]])})
    _, _, val = registry.get_dataset("stanford_dogs", data_root=str(tmp_path))
    assert [assert_sample(val[i], 120, 64) for i in range(len(val))] == [2]
    cars = tmp_path / "StanfordCars"
    for split in ("train", "test"):
        write_image(str(cars / f"cars_{split}" / "00001.jpg"), 1, size=(100, 66))
        path = cars / "devkit" / ("cars_train_annos.mat" if split == "train" else "cars_test_annos_withlabels.mat")
        write_mat(str(path), {"annotations": struct_array([{"class": 2, "fname": "00001.jpg"}])})
    _, train, val = registry.get_dataset("stanford_cars", data_root=str(tmp_path))
    assert train.targets == val.targets == [1] and assert_sample(val[0], 196, 64) == 1


# ------------------------------------------------------------------------------------------ missing copies
@pytest.mark.parametrize("name,expected", [
    ("places365", "Places365/train"), ("places365_32x32", "Places365_32x32/train"),
    ("places365_64x64", "Places365_64x64/train"), ("imagenet_32x32", "ImageNet_32x32"),
    ("cub200", "CUB200/CUB_200_2011/images"), ("stanford_dogs", "StanfordDogs/Images"),
    ("stanford_cars", "StanfordCars/cars_train"),
])
def test_missing_dataset_names_the_expected_path(tmp_path, name, expected):
    with pytest.raises(UserError) as err:
        registry.get_dataset(name, data_root=str(tmp_path))
    message = str(err.value)
    assert os.path.join(str(tmp_path), *expected.split("/")) in message and "\n" not in message


# ------------------------------------------------------------------------------------ vanilla KD end to end
def test_vanilla_kd_with_places365_32x32_transfer_set(tmp_path, monkeypatch):
    data_root = tmp_path / "data"
    make_image_folder(data_root / "Places365_32x32", classes=3, per_class=4)   # 12 transfer images
    real_get_dataset, calls = registry.get_dataset, []

    def cifar10_from_blobs(name, data_root="data", in_memory=False):
        calls.append(name)
        if name == "cifar10":   # no CIFAR-10 on disk: 3-channel generated data stands in for it
            return 10, make_blobs(64, channels=3, seed=0), make_blobs(32, channels=3, seed=1)
        return real_get_dataset(name, data_root, in_memory)

    monkeypatch.setattr(registry, "get_dataset", cifar10_from_blobs)
    torch.manual_seed(0)
    teacher = tmp_path / "cifar10_resnet8.pth"
    torch.save({"state_dict": registry.get_model("resnet8", num_classes=10).state_dict()}, teacher)
    save_dir = tmp_path / "run"
    out = vanilla_kd.main(["--dataset", "cifar10", "--transfer_set", "places365_32x32", "--data_root", str(data_root),
                           "--teacher", "resnet8", "--student", "resnet8", "--teacher_ckpt", str(teacher),
                           "--epochs", "1", "-b", "8", "--lr", "0.01", "-j", "0", "--seed", "0",
                           "--val_subset", "16", "--save_dir", str(save_dir)])
    assert calls == ["cifar10", "places365_32x32"]
    summary = json.loads((save_dir / "summary.json").read_text())
    assert summary["transfer_set"] == "places365_32x32" and summary["epochs_done"] == 1
    assert summary["train_steps"] == 2   # the 12 Places images in batches of 8 (the 64 CIFAR stand-ins: 8)
    assert np.isfinite(out["last"]["loss"]) and os.path.isfile(save_dir / "last.pth")
