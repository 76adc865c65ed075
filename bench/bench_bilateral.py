"""Stage 1 at image level: plain top-k score against the bilateral score (own minus the
contralateral image's), on the validation patients of a stage-1 model's own split.

    .venv/bin/python bench/bench_bilateral.py --model models/classifier-stage1.json \
        --data /work/shared/data/mias [--weight 1] [--cache scores.json] [--json out.json]

The threshold (Youden) and the alternative weight are chosen on the card's training images
only. Prints one table row: seed, n (abnormal), plain AUC [95 % CI], bilateral AUC [95 % CI].
Research use only, not for diagnosis.
"""

from __future__ import annotations

import argparse
import json
import sys


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", required=True, help="stage-1 model (.json or .safetensors)")
    ap.add_argument("--data", required=True, help="the MIAS folder the model was trained on")
    ap.add_argument("--weight", type=float, default=1.0, help="contralateral weight (default 1)")
    ap.add_argument("--cache", help="JSON cache of the plain image scores (re-runs are quick)")
    ap.add_argument("--train-patients", type=int, default=40,
                    help="training patients scored to choose threshold and weight (0 = all; default 40)")
    ap.add_argument("--json", help="write the whole result here")
    args = ap.parse_args(argv)
    import torch

    torch.set_num_threads(1)
    from mammoview.training.classifier_tasks import evaluate_bilateral

    def progress(done, total):
        print(f"\rscoring {done}/{total}", end="", file=sys.stderr, flush=True)

    out = evaluate_bilateral(args.model, args.data, weight=args.weight, cache=args.cache,
                             train_patients=args.train_patients, progress=progress)
    print(file=sys.stderr)
    if args.json:
        from mammoview.io.atomic import atomic_write

        with atomic_write(args.json, "w") as fh:
            json.dump(out, fh, indent=1)
    print("| seed | part | n (abnormal) | plain AUC [95 % CI] | bilateral AUC [95 % CI] | "
          "plain sens/spec | bilateral sens/spec |")
    for part in ("train", "val"):
        p, b = out[part]["plain"], out[part]["bilateral"]
        print(f"| {out['seed']} | {part} | {p['n']} ({p['positives']}) | {p['auc']:.3f} "
              f"[{p['auc_ci95'][0]:.2f}, {p['auc_ci95'][1]:.2f}] | {b['auc']:.3f} "
              f"[{b['auc_ci95'][0]:.2f}, {b['auc_ci95'][1]:.2f}] | {p['sensitivity']:.2f}/{p['specificity']:.2f} "
              f"| {b['sensitivity']:.2f}/{b['specificity']:.2f} |")
    d = out["val"]["auc_difference"]
    print(f"validation AUC difference (bilateral - plain): {d['difference']:+.3f} "
          f"[{d['ci95'][0]:+.2f}, {d['ci95'][1]:+.2f}] (paired, patients resampled)")
    w = out["weight_chosen_on_training"]
    print(f"weight chosen on training: {w['weight']} (training AUC by weight: "
          + ", ".join(f"{k:g}: {v:.3f}" for k, v in w["training_auc_by_weight"].items()) + ")")
    if "bilateral_chosen_weight" in out["val"]:
        c = out["val"]["bilateral_chosen_weight"]
        d = out["val"]["auc_difference_chosen_weight"]
        print(f"validation AUC with that weight: {c['auc']:.3f} [{c['auc_ci95'][0]:.2f}, {c['auc_ci95'][1]:.2f}], "
              f"difference {d['difference']:+.3f} [{d['ci95'][0]:+.2f}, {d['ci95'][1]:+.2f}]")
    print(f"unpaired validation images: {out['val']['unpaired'] or 'none'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
