"""Two stage-1 models trained on the same patient split, compared on their validation images.

Each model card holds the image score of every validation image (``metrics.image_level.
scores``), so no image is scored again: the script pairs the two cards' scores image by
image and reports both AUCs and their difference with a paired percentile bootstrap
(patients resampled, both models' scores from the same resampled images).

Run:  .venv/bin/python bench/compare_cards.py BASELINE.json NEW.json [--data /work/shared/data/mias]
      (one pair per seed; add --json to get the numbers as JSON)
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from mammoview.classification import scoring  # noqa: E402
from mammoview.training.classifier_tasks import _paired_auc_difference, image_class, load_dataset_items  # noqa: E402


def compare(baseline: Path, new: Path, data: Path) -> dict:
    cards = [json.loads(Path(p).read_text()) for p in (baseline, new)]
    if cards[0]["split"]["val"] != cards[1]["split"]["val"]:
        raise SystemExit(f"{new}: its validation patients differ from {baseline}'s (another seed or data)")
    scores = [c["metrics"]["image_level"]["scores"] for c in cards]
    items = {i.id: i for i in load_dataset_items(data)}
    ids = [i for i in scores[0] if i in scores[1] and image_class(items[i])]
    y = [int(image_class(items[i]) != "normal") for i in ids]
    patients = [items[i].patient for i in ids]
    a, b = [scores[1][i] for i in ids], [scores[0][i] for i in ids]
    out = {"seed": cards[0]["split"].get("seed", cards[0].get("seed")), "images": len(ids), "abnormal": sum(y)}
    for name, values in (("baseline", b), ("new", a)):
        low, high = scoring.bootstrap_ci(y, values, groups=patients, seed=0)
        out[name] = {"auc": scoring.auc(y, values), "ci95": [low, high]}
    out["difference"] = _paired_auc_difference(y, a, b, patients, seed=0)
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("baseline", type=Path)
    parser.add_argument("new", type=Path)
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data" / "mias")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    r = compare(args.baseline, args.new, args.data)
    if args.json:
        print(json.dumps(r, indent=1))
        return 0
    d = r["difference"]
    print(f"seed {r['seed']}: {r['images']} validation images ({r['abnormal']} abnormal)")
    for name in ("baseline", "new"):
        print(f"  {name:8s} image AUC {r[name]['auc']:.3f} [{r[name]['ci95'][0]:.2f}, {r[name]['ci95'][1]:.2f}]")
    print(f"  difference {d['difference']:+.3f} [{d['ci95'][0]:+.2f}, {d['ci95'][1]:+.2f}] ({d['method']})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
