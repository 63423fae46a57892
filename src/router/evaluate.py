"""Honest evaluation by year: a temporal backtest and leave-one-year-out.

For each test year the model is trained only on other years, exactly as ``router train``
would, and scored on topics and lead divisions: accuracy, macro-F1, top-2 accuracy, a
per-class table, confusion matrices, and the share matched / mismatched / sent to review at
thresholds from 0.3 to 0.9 (the table an office uses to pick its operating point).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from sklearn.metrics import accuracy_score, confusion_matrix, f1_score, precision_recall_fscore_support

from .domain import Example
from .model import RouterModel
from .profile import Profile

__all__ = ["Prediction", "predict_examples", "score", "backtest", "write_reports", "THRESHOLDS"]

THRESHOLDS = [0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9]
# Shares of routes sent to review (the least confident first) at which the rest is scored.
SHARES = [0.1, 0.2, 0.3, 0.4, 0.5, 0.6]


@dataclass
class Prediction:
    example: Example
    topics: list[tuple[str, float]]
    divisions: list[tuple[str, float]]
    split: str = ""

    @property
    def confidence(self) -> float:
        return min(self.topics[0][1], self.divisions[0][1])


def predict_examples(model: RouterModel, examples: list[Example], split: str = "") -> list[Prediction]:
    out = []
    for e, d in zip(examples, model.decide([e.text for e in examples])):
        topics = sorted(d.topic_proba.items(), key=lambda kv: -kv[1])
        divisions = sorted(d.division_proba.items(), key=lambda kv: -kv[1])
        out.append(Prediction(e, topics, divisions, split))
    return out


def _task_scores(truth: list[str], ranked: list[list[tuple[str, float]]], labels: list[str]) -> dict:
    pred = [r[0][0] for r in ranked]
    top2 = np.mean([t in (r[0][0], r[1][0] if len(r) > 1 else None) for t, r in zip(truth, ranked)]) if truth else 0.0
    present = sorted(set(truth) | set(pred), key=labels.index)
    p, r, f, n = precision_recall_fscore_support(truth, pred, labels=present, zero_division=0)
    return {
        "n": len(truth),
        "accuracy": round(float(accuracy_score(truth, pred)), 4) if truth else 0.0,
        "macro_f1": round(float(f1_score(truth, pred, labels=present, average="macro", zero_division=0)), 4) if truth else 0.0,
        "top2_accuracy": round(float(top2), 4),
        "per_class": {
            label: {"precision": round(float(p[i]), 3), "recall": round(float(r[i]), 3), "f1": round(float(f[i]), 3), "n": int(n[i])}
            for i, label in enumerate(present)
        },
        "confusion": {"labels": present, "matrix": _confusion(truth, pred, present)},
    }


def _confusion(truth: list[str], pred: list[str], present: list[str]) -> list[list[int]]:
    import warnings

    with warnings.catch_warnings():
        # A year whose rows all carry one label has a 1×1 matrix; scikit-learn warns of it.
        warnings.filterwarnings("ignore", message="A single label was found", category=UserWarning)
        return confusion_matrix(truth, pred, labels=present).tolist()


def score(predictions: list[Prediction], profile: Profile) -> dict:
    topics = _task_scores([p.example.topic for p in predictions], [p.topics for p in predictions], profile.topic_keys)
    divisions = _task_scores([p.example.division for p in predictions], [p.divisions for p in predictions],
                             profile.division_keys)
    operating = []
    for threshold in THRESHOLDS:
        auto = [p for p in predictions if p.confidence >= threshold]
        matched = sum(p.topics[0][0] == p.example.topic and p.divisions[0][0] == p.example.division for p in auto)
        total = max(len(predictions), 1)
        operating.append({
            "threshold": threshold,
            "matched": round(matched / total, 4),
            "mismatched": round((len(auto) - matched) / total, 4),
            "review": round((len(predictions) - len(auto)) / total, 4),
        })
    return {"topic": topics, "division": divisions, "thresholds": operating, "shares": by_share(predictions),
            "flags": flags(predictions, profile)}


def _flagged(ranked: list[tuple[str, float]], threshold: float, margin: float) -> bool:
    return not ranked or ranked[0][1] < threshold or (len(ranked) > 1 and ranked[0][1] - ranked[1][1] < margin)


def flags(predictions: list[Prediction], profile: Profile) -> dict:
    """At the profile's threshold and margin: the share flagged by the topic, by the division, by either."""
    total = max(len(predictions), 1)
    topic = [_flagged(p.topics, profile.threshold, profile.margin) for p in predictions]
    division = [_flagged(p.divisions, profile.threshold, profile.margin) for p in predictions]
    return {"threshold": profile.threshold, "margin": profile.margin,
            "topic": round(sum(topic) / total, 4), "division": round(sum(division) / total, 4),
            "either": round(sum(a or b for a, b in zip(topic, division)) / total, 4),
            "division_only": round(sum(b and not a for a, b in zip(topic, division)) / total, 4)}


def by_share(predictions: list[Prediction], shares=SHARES) -> list[dict]:
    """Send the least confident ``share`` to review: how right is the rest (topic, division, both)?"""
    ranked = sorted(predictions, key=lambda p: p.confidence)
    out = []
    for share in shares:
        rest = ranked[int(round(share * len(ranked))):]
        n = max(len(rest), 1)
        topic = sum(p.topics[0][0] == p.example.topic for p in rest)
        division = sum(p.divisions[0][0] == p.example.division for p in rest)
        both = sum(p.topics[0][0] == p.example.topic and p.divisions[0][0] == p.example.division for p in rest)
        out.append({"share": share, "rest": len(rest), "topic": round(topic / n, 4), "division": round(division / n, 4),
                    "both": round(both / n, 4),
                    "threshold": round(rest[0].confidence, 4) if rest else None})
    return out


def _train(examples: list[Example], profile: Profile, tokenizer) -> RouterModel:
    from .similar import attach_memory

    # What `router train` makes: the fitted model and its memory of past routes (precedents).
    model = RouterModel.from_profile(profile).fit(examples, profile, tokenizer)
    attach_memory(model, examples, profile)
    return model


def backtest(examples: list[Example], profile: Profile, tokenizer, *, progress=None, test_years=None,
             leave_one_out: bool = True) -> dict:
    """Temporal backtest (train on earlier years) and, optionally, leave-one-year-out.

    ``test_years`` limits the temporal test to those years (default: every year after the first).
    """
    years = sorted({e.year for e in examples if e.year is not None})
    by_year = {y: [e for e in examples if e.year == y] for y in years}
    plans = [("temporal", y, [e for e in examples if e.year < y]) for y in years[1:]
             if test_years is None or y in test_years]
    if leave_one_out and len(years) > 1:
        plans += [("leave_one_year_out", y, [e for e in examples if e.year != y]) for y in years]
    results: dict = {"years": years, "temporal": {}, "leave_one_year_out": {}}
    pooled: dict[str, list[Prediction]] = {"temporal": [], "leave_one_year_out": []}
    for kind, year, train in plans:
        model = _train(train, profile, tokenizer)
        predictions = predict_examples(model, by_year[year], split=f"{kind}:{year}")
        pooled[kind].extend(predictions)
        summary = score(predictions, profile)
        results[kind][str(year)] = {"train_years": sorted({e.year for e in train}), "train_n": len(train), **summary}
        if progress:
            progress(1)
    for kind, predictions in pooled.items():
        if predictions:
            results[kind]["pooled"] = score(predictions, profile)
    results["errors"] = [
        {"split": p.split, "id": p.example.id, "text": p.example.text[:60], "truth_topic": p.example.topic,
         "pred_topic": p.topics[0][0], "truth_division": p.example.division, "pred_division": p.divisions[0][0],
         "confidence": round(p.confidence, 3)}
        for p in pooled["temporal"]
        if p.topics[0][0] != p.example.topic or p.divisions[0][0] != p.example.division
    ]
    return results


def plot_confusion(result: dict, profile: Profile, path: Path) -> None:
    """Confusion matrices of the pooled temporal backtest; Chinese names where a CJK font exists."""
    from .charts import pyplot

    plt, font = pyplot()
    fig, axes = plt.subplots(1, 2, figsize=(13, 5.5))
    for ax, task in zip(axes, ("topic", "division")):
        data = result[task]["confusion"]
        names = [
            (profile.topic(k).name if task == "topic" else profile.division(k).name) if font else k
            for k in data["labels"]
        ]
        matrix = np.array(data["matrix"])
        ax.imshow(matrix, cmap="Blues")
        ax.set_xticks(range(len(names)), names, rotation=45, ha="right", fontsize=8)
        ax.set_yticks(range(len(names)), names, fontsize=8)
        for (i, j), v in np.ndenumerate(matrix):
            ax.text(j, i, str(v), ha="center", va="center", fontsize=8)
        ax.set_xlabel("预测" if font else "predicted")
        ax.set_ylabel("实际" if font else "actual")
        ax.set_title(("主题" if font else "topic") if task == "topic" else ("主办处室" if font else "lead division"))
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _table(rows: list[list], headers: list[str]) -> list[str]:
    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return lines


def markdown_report(results: dict, profile: Profile) -> str:
    lines = ["# 按年度回测报告（router evaluate）", ""]
    for kind, title in (("temporal", "时间回测：用此前各年训练，测试当年"), ("leave_one_year_out", "留一年交叉验证")):
        rows = []
        for year, r in results[kind].items():
            if year == "pooled":
                continue
            rows.append([year, r["train_n"], r["topic"]["n"], r["topic"]["accuracy"], r["topic"]["macro_f1"],
                         r["topic"]["top2_accuracy"], r["division"]["accuracy"], r["division"]["macro_f1"],
                         r["division"]["top2_accuracy"]])
        if "pooled" in results[kind]:
            p = results[kind]["pooled"]
            rows.append(["合计", "", p["topic"]["n"], p["topic"]["accuracy"], p["topic"]["macro_f1"],
                         p["topic"]["top2_accuracy"], p["division"]["accuracy"], p["division"]["macro_f1"],
                         p["division"]["top2_accuracy"]])
        lines += [f"## {title}", ""]
        lines += _table(rows, ["测试年度", "训练条数", "测试条数", "主题准确率", "主题宏F1", "主题前二命中",
                               "处室准确率", "处室宏F1", "处室前二命中"])
        lines.append("")
    pooled = results["temporal"].get("pooled")
    if pooled:
        for task, name_of, title in (("topic", lambda k: profile.topic(k).name, "主题"),
                                     ("division", lambda k: profile.division(k).name, "主办处室")):
            rows = [[name_of(k), v["n"], v["precision"], v["recall"], v["f1"]] for k, v in pooled[task]["per_class"].items()]
            lines += [f"## 分类别（时间回测合计）：{title}", ""] + _table(rows, ["类别", "条数", "精确率", "召回率", "F1"]) + [""]
        rows = [[t["threshold"], f"{t['matched']:.0%}", f"{t['mismatched']:.0%}", f"{t['review']:.0%}"] for t in pooled["thresholds"]]
        lines += ["## 复核阈值选择（时间回测合计）", "",
                  "置信度（主题与处室中较低者）不低于阈值的自动通过，其余送人工复核。", ""]
        lines += _table(rows, ["阈值", "自动且正确", "自动但错误", "送复核"]) + [""]
        rows = [[f"{s['share']:.0%}", s["rest"], s["topic"], s["division"], s["both"], s["threshold"]] for s in pooled["shares"]]
        lines += ["## 按复核比例（时间回测合计）", "",
                  "把置信度最低的一部分送人工复核，其余自动通过时，其余部分的准确率；"
                  "配置 [review] share 即按此选定阈值。", ""]
        lines += _table(rows, ["送复核比例", "其余条数", "其余主题准确率", "其余处室准确率", "两者都对", "对应阈值"]) + [""]
        f = pooled["flags"]
        lines += [f"按当前阈值 {f['threshold']}（差距 {f['margin']}）：主题需复核 {f['topic']:.0%}，"
                  f"处室需复核 {f['division']:.0%}，合计 {f['either']:.0%}（其中仅因处室 {f['division_only']:.0%}）。", ""]
    return "\n".join(lines)


def write_reports(results: dict, profile: Profile, folder: Path) -> dict[str, Path]:
    from .fileio import atomic_path

    folder.mkdir(parents=True, exist_ok=True)
    paths = {"json": folder / "evaluation.json", "markdown": folder / "evaluation.md", "png": folder / "confusion.png"}
    with atomic_path(paths["json"]) as tmp:
        tmp.write_text(json.dumps(results, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    with atomic_path(paths["markdown"]) as tmp:
        tmp.write_text(markdown_report(results, profile), encoding="utf-8")
    pooled = results["temporal"].get("pooled")
    if pooled:
        with atomic_path(paths["png"]) as tmp:
            plot_confusion(pooled, profile, tmp.with_suffix(".png"))
            tmp.with_suffix(".png").replace(tmp)
    else:
        paths.pop("png")
    return paths

