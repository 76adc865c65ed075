"""A study: the images of one examination of one patient, in hanging order."""

from __future__ import annotations

from dataclasses import dataclass, field

from mammoview.core.image import ImageRef

# Order of the standard screening hanging: right before left, CC before MLO.
SLOT_ORDER = ("RCC", "LCC", "RMLO", "LMLO")
GROUND_TRUTH_RANK = {"normal": 0, "benign": 1, "malignant": 2}


@dataclass
class Study:
    uid: str
    images: list[ImageRef] = field(default_factory=list)
    label: str = ""  # what the browser shows first (patient or folder name)

    @property
    def first(self) -> ImageRef:
        return self.images[0]

    @property
    def patient_id(self) -> str:
        return self.first.patient.id if self.images else ""

    @property
    def patient_name(self) -> str:
        return self.first.patient.name if self.images else ""

    @property
    def date(self) -> str:
        return self.first.study.date if self.images else ""

    @property
    def synthetic(self) -> bool:
        return any(ref.synthetic for ref in self.images)

    @property
    def views(self) -> list[str]:
        return [ref.slot or ref.view or "?" for ref in self.images]

    @property
    def ground_truth(self) -> str | None:
        """The worst ground-truth class among the images (malignant > benign > normal)."""
        known = [ref.ground_truth for ref in self.images if ref.ground_truth]
        if not known:
            return None
        return max(known, key=lambda c: GROUND_TRUTH_RANK.get(c, -1))

    def hanging(self) -> dict[str, ImageRef]:
        """The first image for each of RCC, LCC, RMLO, LMLO that the study has."""
        slots: dict[str, ImageRef] = {}
        for ref in self.images:
            if ref.slot in SLOT_ORDER and ref.slot not in slots:
                slots[ref.slot] = ref
        return slots

    @property
    def is_four_view(self) -> bool:
        return len(self.hanging()) == 4

    def sort_images(self) -> None:
        """Hanging order first (RCC, LCC, RMLO, LMLO), then the rest by path."""

        def key(ref: ImageRef) -> tuple[int, str]:
            slot = ref.slot
            return (SLOT_ORDER.index(slot) if slot in SLOT_ORDER else len(SLOT_ORDER), ref.path)

        self.images.sort(key=key)
