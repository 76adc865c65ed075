"""The Model cards dialog on the shipped cards: the image-level AUC is what a reader sees,
the research-use notice stays above the tabs, and the whole card is one tab away as JSON."""

from __future__ import annotations

import dataclasses
import json

from PySide6.QtWidgets import QLabel

from mammoview import RESEARCH_NOTICE
from mammoview.gui.dialogs.model_cards import ModelCardsDialog
from mammoview.nets.store import read_card
from tests.conftest import REPO_ROOT

TASKS = ("classifier-stage1", "classifier-stage2", "segmentation", "superres")


def shipped_cards() -> list[dict]:
    # As aijobs.active_cards builds them: the card's fields, and the weights' path.
    cards = []
    for task in TASKS:
        path = REPO_ROOT / "models" / f"{task}.safetensors"
        card = dataclasses.asdict(read_card(path))
        card["path"] = str(path)
        cards.append(card)
    return cards


def test_model_cards_dialog_shows_the_image_level_auc_first(qtbot):
    cards = shipped_cards()
    dialog = ModelCardsDialog(cards)
    qtbot.addWidget(dialog)
    dialog.show()
    qtbot.waitExposed(dialog)
    assert [dialog.tabs.tabText(i) for i in range(dialog.tabs.count())] == list(TASKS)
    notice = dialog.findChild(QLabel, "modelCardsNotice")
    assert RESEARCH_NOTICE in notice.text() and notice.isVisible()
    for index, card in enumerate(cards[:2]):
        image = card["metrics"]["image_level"]
        low, high = image["auc_ci95"]
        text = dialog.tab_text(index)
        auc = f"{image['auc']:.3f} (95 % CI {low:.3f}–{high:.3f})"
        assert auc in text
        assert text.index(auc) < text.index("Patch-level AUC")
        assert "Why ours differ" in text and "…" not in text
    assert "Otsu baseline" in dialog.tab_text(2) and "bicubic baseline" in dialog.tab_text(3)
    for index, card in enumerate(cards):
        assert json.loads(dialog.raw_text(index)) == card
    dialog.close()
