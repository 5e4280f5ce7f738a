"""Damaged image files in every folder reader (--cmi_init, ImageFolder datasets, file-list transfer sets): one line
naming the file, or skipped and logged with --skip_bad_images; also from DataLoader worker processes."""
import io

import pytest
import torch
from PIL import Image
from torchvision.transforms.functional import to_tensor

import datafree_kd
from engine import images
from engine.cli import parse_args
from engine.datasets import load_image_folder
from engine.errors import UserError, one_line
from engine.transfer_datasets import ImageFileList, ImageFolder


def write_png(path, value):
    Image.new("RGB", (8, 8), (value, value, value)).save(path)


@pytest.fixture
def folder(tmp_path):
    """a/0.png (10), a/1.png: not an image, b/2.png (200), b/3.jpg: a JPEG cut after 100 bytes."""
    for cls in ("a", "b"):
        (tmp_path / cls).mkdir()
    write_png(tmp_path / "a" / "0.png", 10)
    (tmp_path / "a" / "1.png").write_bytes(b"not an image at all")
    write_png(tmp_path / "b" / "2.png", 200)
    jpeg = io.BytesIO()
    Image.new("RGB", (64, 64), (50, 90, 130)).save(jpeg, format="JPEG")
    (tmp_path / "b" / "3.jpg").write_bytes(jpeg.getvalue()[:100])
    return tmp_path


@pytest.fixture
def skip(monkeypatch):
    monkeypatch.setitem(images.SKIP_BAD_IMAGES, "enabled", True)


def test_cmi_init_names_the_bad_file(folder):
    with pytest.raises(UserError, match=r"--cmi_init: cannot read image .*a/1\.png .*--skip_bad_images"):
        load_image_folder(str(folder), (3, 8, 8))


def test_cmi_init_skips_and_logs_with_the_flag(folder, skip, capsys):
    x = load_image_folder(str(folder), (3, 8, 8))
    assert x.shape == (2, 3, 8, 8)
    assert sorted(round(v * 255) for v in x[:, 0, 0, 0].tolist()) == [10, 200]
    err = capsys.readouterr().err
    assert "skipped unreadable image" in err and "1.png" in err and "3.jpg" in err


def test_image_folder_dataset_names_the_bad_file_or_takes_the_next_image(folder, monkeypatch):
    dst = ImageFolder(str(folder))
    assert dst[0][1] == 0
    with pytest.raises(UserError, match=r"cannot read image .*a/1\.png"):
        dst[1]
    with pytest.raises(UserError, match=r"cannot read image .*b/3\.jpg"):
        dst[3]
    monkeypatch.setitem(images.SKIP_BAD_IMAGES, "enabled", True)
    dst = ImageFolder(str(folder))
    img, label = dst[1]   # 1.png skipped: the next readable item, b/2.png
    assert label == 1 and img.getpixel((0, 0)) == (200, 200, 200)
    assert dst[3][0].getpixel((0, 0)) == (10, 10, 10)   # wraps around to the first


def test_file_list_dataset_in_a_worker_process_ends_with_the_files_one_line(folder):
    dst = ImageFileList([str(folder / "b" / "2.png"), str(folder / "a" / "1.png")], [0, 1], transform=to_tensor)
    loader = torch.utils.data.DataLoader(dst, batch_size=1, num_workers=1)
    with pytest.raises(UserError) as caught:   # rebuilt in this process from the worker's text
        list(loader)
    line = one_line(caught.value)
    assert line.startswith("cannot read image ") and "a/1.png" in line and "\n" not in line


def test_the_flag_reaches_the_readers():
    parse_args(datafree_kd.build_parser(), ["--method", "fast_meta", "--skip_bad_images"])
    try:
        assert images.SKIP_BAD_IMAGES["enabled"] and ImageFileList([], []).skip_bad
    finally:
        parse_args(datafree_kd.build_parser(), ["--method", "fast_meta"])
    assert not images.SKIP_BAD_IMAGES["enabled"]
