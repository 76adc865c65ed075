from mammoview.io.mias import mias_patient
from mammoview.training.splits import patient_split

IDS = [f"mdb{n:03d}" for n in range(1, 41)]


def test_both_breasts_of_a_patient_fall_on_the_same_side():
    split = patient_split(IDS, mias_patient, val_fraction=0.25, seed=7)
    train_patients = {mias_patient(i) for i in split.train}
    val_patients = {mias_patient(i) for i in split.val}
    assert not train_patients & val_patients
    assert sorted(split.train + split.val) == IDS
    assert len(val_patients) == 5  # a quarter of the 20 patients


def test_the_split_is_seeded_and_the_seed_matters():
    a = patient_split(IDS, mias_patient, val_fraction=0.25, seed=7)
    b = patient_split(list(reversed(IDS)), mias_patient, val_fraction=0.25, seed=7)
    c = patient_split(IDS, mias_patient, val_fraction=0.25, seed=8)
    assert sorted(a.val) == sorted(b.val)
    assert a.val != c.val


def test_a_patient_with_one_image_still_counts_as_a_patient():
    ids = ["mdb001", "mdb002", "mdb005"]  # patient 1 (both), patient 3 (right only)
    split = patient_split(ids, mias_patient, val_fraction=0.5, seed=0)
    assert {tuple(split.train), tuple(split.val)} in (
        {("mdb001", "mdb002"), ("mdb005",)},
    )
