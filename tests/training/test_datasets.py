"""Training data sources: MIAS folders and labels CSVs, validated before any training."""

import numpy as np
import pytest
from PIL import Image as PILImage

from mammoview.training.datasets import DatasetError, circle_mask, load_dataset
from mammoview.training.tasks import TASKS


def _png(path, shape, value=100):
    PILImage.fromarray(np.full(shape, value, np.uint8)).save(path)


@pytest.fixture
def csv_folder(tmp_path):
    for n in range(3):
        _png(tmp_path / f"img{n}.png", (40, 30))
        _png(tmp_path / f"mask{n}.png", (40, 30), 255)
    _png(tmp_path / "small_mask.png", (20, 30), 255)
    return tmp_path


def test_a_valid_csv_gives_items_with_patients(csv_folder):
    (csv_folder / "labels.csv").write_text(
        "image,mask,patient,class\nimg0.png,mask0.png,P1,mass\nimg1.png,,P1,normal\nimg2.png,mask2.png,,CIRC\n"
    )
    data = load_dataset(csv_folder, needs_mask=True)
    assert [i.patient for i in data.items] == ["P1", "P1", "img2"]
    assert data.items[1].mask_path is None and data.items[0].mask_path.name == "mask0.png"


def test_bad_rows_are_all_listed_and_nothing_is_trained(csv_folder):
    (csv_folder / "labels.csv").write_text(
        "image,mask,class\n"
        "img0.png,mask0.png,mass\n"  # row 2: fine
        "missing.png,mask1.png,mass\n"  # row 3
        "img1.png,mask1.png,tumour\n"  # row 4
        "img0.png,mask0.png,mass\n"  # row 5: duplicate of row 2
        "img2.png,small_mask.png,\n"  # row 6: mask of another size
        "img2.png,nomask.png,\n"  # row 7
    )
    with pytest.raises(DatasetError) as info:
        load_dataset(csv_folder / "labels.csv", needs_mask=True)
    text = str(info.value)
    assert text.startswith("labels.csv: 5 bad row(s), nothing trained")
    assert "row 3: missing.png not found" in text
    assert "row 4: unknown class 'tumour'" in text
    assert "row 5: duplicate of row 2" in text
    assert "row 6: mask small_mask.png is 30 x 20, image is 30 x 40" in text
    assert "row 7: mask nomask.png not found" in text
    assert "row 2" not in text.replace("duplicate of row 2", "")
    assert "\n" not in text


def test_a_csv_without_the_mask_column_is_refused_for_segmentation(csv_folder):
    (csv_folder / "labels.csv").write_text("image\nimg0.png\n")
    with pytest.raises(DatasetError, match="no 'mask' column"):
        load_dataset(csv_folder, needs_mask=True)
    assert len(load_dataset(csv_folder, needs_mask=False).items) == 1


def test_a_folder_without_labels_is_refused(tmp_path):
    with pytest.raises(DatasetError, match="no Info.txt"):
        load_dataset(tmp_path, needs_mask=True)


def test_mias_folder_pairs_patients_and_skips_listed_images_without_a_file(mias_subset):
    data = load_dataset(mias_subset, needs_mask=True)
    ids = [i.id for i in data.items]
    assert ids[:4] == ["mdb001", "mdb002", "mdb005", "mdb006"]
    assert data.items[0].patient == data.items[1].patient != data.items[2].patient
    assert "mdb007" in data.skipped["listed in Info.txt, no image file"]


def test_segmentation_keeps_located_lesions_and_normals(mias_dir):
    data = load_dataset(mias_dir, needs_mask=True)
    keep, skipped = TASKS["segmentation"].select(data.items)
    kept = {i.id for i in keep}
    assert "mdb001" in kept and "mdb006" in kept  # a mass, a normal
    left_out = next(iter(skipped.values()))
    assert "mdb059" in left_out and "mdb059" not in kept  # CIRC without a centre


def test_circle_mask_uses_row_from_the_top(mias_dir):
    data = load_dataset(mias_dir, needs_mask=True)
    item = next(i for i in data.items if i.id == "mdb010")  # x 525, y 425, radius 33
    mask = circle_mask((1024, 1024), item.findings)
    assert mask[1024 - 425, 525] and not mask[425, 525]
    assert abs(mask.sum() - np.pi * 33**2) < 0.02 * np.pi * 33**2
