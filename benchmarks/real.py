"""Quality on real suggestions nobody here wrote, beside the written-data backtest.

    .venv/bin/python benchmarks/real.py [--model FOLDER] [--json OUT]

Reads ``../shared/datasets/suggestions_real/suggestions.csv`` at run time (measuring only:
nothing of it is copied into the repository, a model or a model's memory) and measures, on
titles alone, as its README's protocol says:

- the bundled default model (or ``--model``): topic accuracy (``alt_topic`` counts) and
  macro-F1; at the profile's review threshold, the share sent to review and the accuracy on
  the rest;
- cold start from the bundled profile alone (``router train --cold``): topic accuracy;
- the county and city templates, cold: department accuracy top-1 and top-3 over the rows
  whose ``unit_type`` is one of the templates' departments;
- beside them, the written-data temporal backtest of the bundled history (topic accuracy),
  so that the gap between the two is visible.

``benchmarks/run.py`` calls :func:`run_real` for its ``real`` section.
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
REAL = REPO / ".." / "shared" / "datasets" / "suggestions_real" / "suggestions.csv"
HISTORY = sorted((REPO / "data").glob("history_*.xlsx"))
TEMPLATES = REPO / "src" / "router" / "resources" / "templates"

TARGET_TOPIC = 0.90
TARGET_REVIEW_SHARE = 0.30
TARGET_REST = 0.95
TARGET_DEPT_TOP1 = 0.80
TARGET_DEPT_TOP3 = 0.92
TARGET_WRITTEN = 0.95


def load_real() -> list[dict]:
    with open(REAL, encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def _right(row: dict, topic: str) -> bool:
    return topic == row["topic"] or (bool(row.get("alt_topic")) and topic == row["alt_topic"])


def _macro_f1(rows: list[dict], predicted: list[str]) -> float:
    labels = sorted({r["topic"] for r in rows})
    # A prediction equal to the alternative reading counts as the gold label.
    gold = [p if _right(r, p) else r["topic"] for r, p in zip(rows, predicted)]
    scores = []
    for label in labels:
        tp = sum(g == label and p == label for g, p in zip(gold, predicted))
        fp = sum(g != label and p == label for g, p in zip(gold, predicted))
        fn = sum(g == label and p != label for g, p in zip(gold, predicted))
        scores.append(0.0 if tp == 0 else 2 * tp / (2 * tp + fp + fn))
    return sum(scores) / len(scores)


def topic_quality(model, profile, rows: list[dict]) -> dict:
    """Topic accuracy, macro-F1, and the review split exactly as `router route` flags rows.

    A row goes to review when its topic *or* its lead division is unsure (``route_batch``'s
    rule, not a copy of it); the topic-only share is reported beside it.
    """
    from router.intake import Suggestion
    from router.routing import _needs_review, route_batch

    routes = route_batch(model, profile, [Suggestion(row=i + 2, id=r["id"], title=r["title"])
                                          for i, r in enumerate(rows)])
    predicted = [r.topic for r in routes]
    right = [_right(row, p) for row, p in zip(rows, predicted)]
    review = [r.needs_review for r in routes]
    topic_review = [_needs_review(r.topics, profile.threshold, profile.margin) for r in routes]
    rest = [ok for ok, flagged in zip(right, review) if not flagged]
    return {
        "n": len(rows),
        "accuracy": round(sum(right) / len(rows), 4),
        "macro_f1": round(_macro_f1(rows, predicted), 4),
        "review_share": round(sum(review) / len(rows), 4),
        "review_n": sum(review),
        "topic_review_share": round(sum(topic_review) / len(rows), 4),
        "rest_n": len(rest),
        "rest_accuracy": round(sum(rest) / len(rest), 4) if rest else None,
    }


def department_quality(model, rows: list[dict]) -> dict:
    """Lead-department accuracy (top-1, top-3) over rows whose unit type is a department here."""
    keys = set(model.divisions_)
    rows = [r for r in rows if r["unit_type"] in keys]
    if not rows:
        return {"n": 0}
    decisions = model.decide([r["title"] for r in rows])
    top1 = top3 = 0
    for r, d in zip(rows, decisions):
        ranked = sorted(d.division_proba, key=lambda k: -d.division_proba[k])
        top1 += ranked[0] == r["unit_type"]
        top3 += r["unit_type"] in ranked[:3]
    return {"n": len(rows), "top1": round(top1 / len(rows), 4), "top3": round(top3 / len(rows), 4)}


def cold_model(profile, tokenizer):
    from router.model import RouterModel

    return RouterModel.from_profile(profile).fit([], profile, tokenizer)


def written_backtest(profile, tokenizer) -> dict:
    """The temporal backtest of the bundled history (train on earlier years, test each later one)."""
    from router.evaluate import backtest
    from router.history import read_history, to_examples

    items = []
    for path in HISTORY:
        items.extend(read_history(path, profile))
    result = backtest(to_examples(items), profile, tokenizer, leave_one_out=False)
    pooled = result["temporal"]["pooled"]
    return {"n": pooled["topic"]["n"], "topic_accuracy": round(pooled["topic"]["accuracy"], 4),
            "division_accuracy": round(pooled["division"]["accuracy"], 4)}


def run_real(model_dir: Path | None = None, *, backtest: bool = True) -> dict:
    from router.profile import load_profile
    from router.registry import current_model_dir, load_model
    from router.tokenizer import Tokenizer

    rows = load_real()
    profile = load_profile()
    tokenizer = Tokenizer().warm()
    folder = Path(model_dir) if model_dir else current_model_dir(REPO / "src" / "router" / "resources" / "models")
    model = load_model(folder, profile)
    model.tokenizer.warm()
    out = {"dev_set": {"n": len(rows), "path": "../shared/datasets/suggestions_real/suggestions.csv"},
           "model": folder.name, "history_weight": model.history_weight_}
    out["default_model"] = topic_quality(model, profile, rows)
    out["cold_start"] = topic_quality(cold_model(profile, tokenizer), profile, rows)
    out["templates"] = {}
    for name in ("county", "city"):
        path = TEMPLATES / f"{name}.toml"
        if path.is_file():
            template = load_profile(path)
            cold = cold_model(template, tokenizer)
            out["templates"][name] = {**department_quality(cold, rows),
                                      "topic": topic_quality(cold, template, rows)["accuracy"]}
    if backtest:
        out["written_backtest"] = written_backtest(profile, tokenizer)
    return out


def real_targets(real: dict) -> list[dict]:
    d = real["default_model"]
    rows = [
        ("real titles: topic accuracy ≥ 0.90 (bundled default model)", d["accuracy"], d["accuracy"] >= TARGET_TOPIC),
        ("real titles: sent to review ≤ 30 %", d["review_share"], d["review_share"] <= TARGET_REVIEW_SHARE),
        ("real titles: right among the rest ≥ 0.95", d["rest_accuracy"],
         d["rest_accuracy"] is not None and d["rest_accuracy"] >= TARGET_REST),
    ]
    county = real.get("templates", {}).get("county")
    if county and county.get("n"):
        rows.append(("county template cold: department top-1 ≥ 0.80", county["top1"], county["top1"] >= TARGET_DEPT_TOP1))
        rows.append(("county template cold: department top-3 ≥ 0.92", county["top3"], county["top3"] >= TARGET_DEPT_TOP3))
    if "written_backtest" in real:
        w = real["written_backtest"]["topic_accuracy"]
        rows.append(("written-data backtest topic accuracy ≥ 0.95", w, w >= TARGET_WRITTEN))
    return [{"target": t, "measured": m, "met": bool(ok)} for t, m, ok in rows]


def real_markdown(real: dict) -> str:
    d, c = real["default_model"], real["cold_start"]
    lines = [
        f"**Real suggestions** (`{real['dev_set']['path']}`, {real['dev_set']['n']} titles, measuring only) beside the "
        "written history. Model: `" + real["model"] + f"` (history weight {real['history_weight']:.2f}, learned by its backtest).",
        "",
        "| measured | topic accuracy | macro-F1 | sent to review (topic or division; topic alone) | right among the rest |",
        "| --- | --- | --- | --- | --- |",
        f"| real titles, bundled default model | {d['accuracy']:.3f} | {d['macro_f1']:.3f} | {d['review_n']} "
        f"({d['review_share']:.0%}; {d['topic_review_share']:.0%}) | {(d['rest_accuracy'] or 0):.3f} ({d['rest_n']}) |",
        f"| real titles, cold start (profile alone) | {c['accuracy']:.3f} | {c['macro_f1']:.3f} | {c['review_n']} "
        f"({c['review_share']:.0%}; {c['topic_review_share']:.0%}) | {(c['rest_accuracy'] or 0):.3f} ({c['rest_n']}) |",
    ]
    if "written_backtest" in real:
        w = real["written_backtest"]
        lines.append(f"| written history, temporal backtest ({w['n']}) | {w['topic_accuracy']:.3f} | | | |")
    for name, t in real.get("templates", {}).items():
        if t.get("n"):
            lines.append(f"| {name} template cold: departments ({t['n']} rows) | top-1 {t['top1']:.3f}, top-3 {t['top3']:.3f} "
                         f"| | | topics {t['topic']:.3f} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", type=Path, default=None, help="model folder (default: models/CURRENT)")
    parser.add_argument("--json", type=Path, default=None, help="also write the figures as JSON here")
    parser.add_argument("--no-backtest", action="store_true", help="skip the written-data backtest")
    args = parser.parse_args(argv)
    if not REAL.is_file():
        print(f"{REAL}: not found; the real dev set lives in ../shared beside the repository", file=sys.stderr)
        return 1
    real = run_real(args.model, backtest=not args.no_backtest)
    print(real_markdown(real))
    print()
    for t in real_targets(real):
        print(f"- {t['target']}: {t['measured']} ({'met' if t['met'] else 'MISSED'})")
    if args.json:
        args.json.write_text(json.dumps(real, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
