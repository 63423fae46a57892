"""Meaning models side by side: the sentence encoder against the static table distilled from it.

    .venv/bin/python benchmarks/textmodels.py                 # everything, about 15 minutes on 2 cores
    .venv/bin/python benchmarks/textmodels.py --only speed    # dev, teddy or speed
    .venv/bin/python benchmarks/textmodels.py --quick         # smaller samples, a smoke run

Prints a Markdown table (with the machine and versions) and writes
``benchmarks/results/textmodels.json``. Reads ``../shared/datasets`` at run time (measuring only:
nothing of it is copied anywhere; the static table was built without either data set).

- dev: the default model trained from ``data/history_201[789].xlsx`` and ``data/history_2020.xlsx``
  with each meaning model (saved to and loaded from a temporary models folder, as `router train`
  and `router route` do), measured on the 113 real titles of ``suggestions_real`` as
  ``benchmarks/real.py`` measures (topic accuracy, macro-F1, review share); the cold default
  profile's topic accuracy; the county template cold: department top-1 / top-3.
- teddy: the large form on teddy2020 (title + body, the 7,874 messages with a body, stratified
  5-fold CV shuffled with seed 0, pooled out-of-fold accuracy and macro-F1: the protocol of
  ``benchmarks/run.py``), without a meaning model (today's large form) and with the static table
  as extra features; ``--large-encoder`` adds the full encoder (slow: 13 ms a text).
- speed: texts a second over 5,000 teddy2020 messages (title + body), one process, one thread:
  jieba alone (the model's tokens), the static table given those tokens, jieba + static table,
  the encoder alone (no cache; on title + body opening, and on titles alone), jieba + encoder;
  and the default model deciding the same texts with each meaning model.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import real  # noqa: E402  (benchmarks/real.py: the dev set's measures)
import run  # noqa: E402  (benchmarks/run.py: teddy2020 loading, machine and versions)

RESULTS = HERE / "results" / "textmodels.json"
MEANINGS = ("encoder", "encoder-titles", "static", "static-then-encoder")
SPEED_ITEMS = 5000


def log(message: str) -> None:
    run.log(message)


# --------------------------------------------------------------------------- dev set


def _train_and_load(profile, examples, tokenizer, meaning: str, root: Path, name: str):
    """Train as `router train` does with ``meaning``; save; load back as `router route` does."""
    from router.history import data_sha256
    from router.model import RouterModel
    from router.registry import load_model, save_model
    from router.similar import attach_memory

    model = RouterModel.from_profile(profile, meaning=meaning).fit(examples, profile, tokenizer)
    attach_memory(model, examples, profile)
    folder = save_model(model, root / name, profile=profile, data_sha256=data_sha256(examples),
                        years=sorted({e.year for e in examples if e.year}), scores={}, sources=[])
    loaded = load_model(folder, profile)
    loaded.tokenizer.warm()
    return loaded


def run_dev() -> dict:
    from router.history import read_history, to_examples
    from router.profile import load_profile
    from router.tokenizer import Tokenizer

    rows = real.load_real()
    profile = load_profile()
    tokenizer = Tokenizer().warm()
    items = []
    for path in real.HISTORY:
        items.extend(read_history(path, profile))
    examples = to_examples(items)
    county = load_profile(real.TEMPLATES / "county.toml")
    out = {"n_titles": len(rows), "history_examples": len(examples), "by_meaning": {}}
    with tempfile.TemporaryDirectory(prefix="textmodels-") as scratch:
        root = Path(scratch)
        for meaning in MEANINGS:
            log(f"dev · {meaning} · training the default model on the bundled history")
            start = time.perf_counter()
            model = _train_and_load(profile, examples, tokenizer, meaning, root, f"default-{meaning}")
            train_s = time.perf_counter() - start
            default = real.topic_quality(model, profile, rows)
            cold = _train_and_load(profile, [], tokenizer, meaning, root, f"cold-{meaning}")
            cold_county = _train_and_load(county, [], tokenizer, meaning, root, f"county-{meaning}")
            out["by_meaning"][meaning] = {
                "default_model": default, "history_weight": model.history_weight_,
                "train_seconds": round(train_s, 1),
                "cold_start_topic": real.topic_quality(cold, profile, rows)["accuracy"],
                "county_cold": real.department_quality(cold_county, rows),
            }
            log(f"  topic {default['accuracy']:.3f}, county {out['by_meaning'][meaning]['county_cold']}")
    return out


# --------------------------------------------------------------------------- teddy2020


def run_teddy(quick: bool, with_encoder: bool) -> dict:
    import numpy as np
    from sklearn.model_selection import StratifiedKFold

    from router.model import Example, RouterModel
    from router.profile import load_profile
    from router.tokenizer import Tokenizer

    profile = load_profile(run.PROFILE)
    messages = [m for m in run.load_messages() if m["body"]]
    if quick:
        messages = messages[::3]
    texts = [run.text_of(m, True) for m in messages]
    labels = np.array([profile.topic_key(m["label"]) for m in messages])
    lead = {t: profile.rules[t][0] for t in profile.topic_keys}
    splits = list(StratifiedKFold(n_splits=5, shuffle=True, random_state=0).split(texts, labels))
    tokenizer = Tokenizer().warm()
    options = {"none (large form today)": None, "static table": "static"}
    if with_encoder:
        options["sentence encoder"] = "encoder"
    out = {"items": len(texts), "folds": 5, "protocol": "stratified 5-fold CV shuffled with seed 0; pooled "
           "out-of-fold predictions; title + body", "by_meaning": {}}
    for name, meaning in options.items():
        log(f"teddy · large form · meaning {name}")
        predicted = np.empty(len(texts), dtype=object)
        seconds = []
        for train, test in splits:
            examples = [Example(texts[i], labels[i], lead[labels[i]]) for i in train]
            start = time.perf_counter()
            model = RouterModel.from_profile(profile, large_meaning=meaning).fit(examples, profile, tokenizer)
            seconds.append(time.perf_counter() - start)
            decisions = model.decide([texts[i] for i in test])
            predicted[test] = [max(d.topic_proba, key=d.topic_proba.get) for d in decisions]
        predicted = predicted.astype(str)
        out["by_meaning"][name] = {
            **run.cv_scores(labels, predicted, splits),
            "train_seconds_per_fold": [round(s, 1) for s in seconds],
        }
        log(f"  macro-F1 {out['by_meaning'][name]['macro_f1']:.4f}")
    return out


# --------------------------------------------------------------------------- speed


def run_speed(quick: bool) -> dict:
    from threadpoolctl import threadpool_limits

    import router.semantic as semantic
    from router.textmodels.static import StaticMeaning
    from router.tokenizer import Tokenizer

    n = 1000 if quick else SPEED_ITEMS
    messages = run.cycle([m for m in run.load_messages() if m["body"]], n, seed=n)
    texts = [run.text_of(m, True) for m in messages]
    tokenizer = Tokenizer().warm()
    static = StaticMeaning()
    static.encode_tokens([["道路"]])  # table loaded before timing (as a loaded model has it)
    encoder = semantic.SentenceEncoder()
    encoder.encode_phrases(["道路"])  # weights loaded before timing
    timings = {}
    with threadpool_limits(1):
        start = time.perf_counter()
        tokens = [tokenizer.content_words(t) for t in texts]
        timings["jieba alone (content words)"] = time.perf_counter() - start
        start = time.perf_counter()
        static.encode_tokens(tokens)
        timings["static table alone (given the tokens)"] = time.perf_counter() - start
        timings["jieba + static table"] = timings["jieba alone (content words)"] + timings[
            "static table alone (given the tokens)"]
        semantic._SEEN.clear()
        start = time.perf_counter()
        encoder.encode(texts)
        timings["sentence encoder alone (no cache)"] = time.perf_counter() - start
        semantic._SEEN.clear()
        start = time.perf_counter()
        semantic.SentenceEncoder(body_chars=0).encode(texts)
        timings["sentence encoder on titles alone (no cache)"] = time.perf_counter() - start
        semantic._SEEN.clear()
        timings["jieba + sentence encoder on titles"] = timings["jieba alone (content words)"] + timings[
            "sentence encoder on titles alone (no cache)"]
        timings["jieba + sentence encoder"] = timings["jieba alone (content words)"] + timings[
            "sentence encoder alone (no cache)"]
    # Routing as a whole (tokens, features, classifiers, priors): the default model trained on
    # the bundled history with each meaning model, deciding the same texts.
    from router.history import read_history, to_examples
    from router.model import RouterModel
    from router.profile import load_profile

    profile = load_profile()
    items = []
    for path in real.HISTORY:
        items.extend(read_history(path, profile))
    examples = to_examples(items)
    shares = {}
    for meaning in MEANINGS:
        model = RouterModel.from_profile(profile, meaning=meaning).fit(examples, profile, tokenizer)
        semantic._SEEN.clear()
        calls = _count_encoder_calls(model)
        start = time.perf_counter()
        model.decide(texts)
        timings[f"default model, decide ({meaning})"] = time.perf_counter() - start
        shares[meaning] = round(calls() / n, 3)
    semantic._SEEN.clear()
    jieba_s = timings["jieba alone (content words)"]
    return {"items": n, "text": "title + body (teddy2020 messages with a body)", "encoder_share": shares,
            "rows": {k: {"seconds": round(v, 3), "texts_per_second": round(n / v, 1),
                         "ratio_to_jieba": round(jieba_s / v, 3)} for k, v in timings.items()}}


def _count_encoder_calls(model):
    """Count the texts the model's sentence encoder reads from now on (a callable returns the count)."""
    encoder = model.features_.encoder_
    count = [0]
    if encoder is None or getattr(encoder, "kind", "encoder") == "static":
        return lambda: 0
    original = encoder.encode

    def counting(texts):
        count[0] += len(texts)
        return original(texts)

    encoder.encode = counting
    return lambda: count[0]


# --------------------------------------------------------------------------- report


def markdown(result: dict) -> str:
    m, v = result["machine"], result["versions"]
    lines = [f"Machine: {m['cpu']}, {m['usable_cores']} usable cores, {m['memory_gb']} GB, Python {m['python']}; "
             f"router {v['router']} ({v['commit']}), numpy {v['numpy']}, scikit-learn {v['scikit-learn']}, "
             f"jieba {v['jieba']}, encoder {result.get('encoder', '')}; static table sha256 "
             f"{result.get('static_table', {}).get('sha256', '')[:12]}… ({result.get('static_table', {}).get('words')} words, "
             f"{result.get('static_table', {}).get('dimensions')} dimensions, "
             f"{result.get('static_table', {}).get('mb')} MB)", ""]
    if "dev" in result:
        dev = result["dev"]
        lines += [f"**Dev set** ({dev['n_titles']} real titles; default model trained on the bundled history, "
                  f"{dev['history_examples']} items)", "",
                  "| meaning model | topic accuracy | macro-F1 | sent to review | right among the rest | history weight "
                  "| cold start topic | county cold dept top-1 | top-3 |", "| --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
        for name, r in dev["by_meaning"].items():
            d, c = r["default_model"], r["county_cold"]
            lines.append(f"| {name} | {d['accuracy']:.3f} | {d['macro_f1']:.3f} | {d['review_share']:.0%} | "
                         f"{(d['rest_accuracy'] or 0):.3f} | {r['history_weight']:.2f} | {r['cold_start_topic']:.3f} | "
                         f"{c.get('top1', 0):.3f} | {c.get('top3', 0):.3f} |")
        lines.append("")
    if "teddy" in result:
        t = result["teddy"]
        lines += [f"**teddy2020, large form** ({t['items']} messages, title + body, {t['protocol']}; measured "
                  f"{t.get('measured', {}).get('at', '')} at {t.get('measured', {}).get('commit', '')})", "",
                  "| meaning model | accuracy | macro-F1 | folds' macro-F1 | train s/fold (max) |",
                  "| --- | --- | --- | --- | --- |"]
        for name, r in t["by_meaning"].items():
            lines.append(f"| {name} | {r['accuracy']:.4f} | {r['macro_f1']:.4f} | "
                         f"{', '.join(f'{x:.3f}' for x in r['fold_macro_f1'])} | {max(r['train_seconds_per_fold']):.1f} |")
        lines.append("")
    if "speed" in result:
        s = result["speed"]
        lines += [f"**Speed** ({s['items']} messages, {s['text']}, one process, one thread)", "",
                  "| what | seconds | texts/s | against jieba alone |", "| --- | --- | --- | --- |"]
        for name, r in s["rows"].items():
            lines.append(f"| {name} | {r['seconds']:.2f} | {r['texts_per_second']:,.0f} | {r['ratio_to_jieba']:.2f}× |")
        lines += ["", "Share of texts the encoder read while deciding: " + ", ".join(
            f"{k} {v:.0%}" for k, v in s.get("encoder_share", {}).items()), ""]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", choices=("dev", "teddy", "speed"), action="append",
                        help="run only this part (repeatable)")
    parser.add_argument("--quick", action="store_true", help="smaller samples (a smoke run)")
    parser.add_argument("--large-encoder", action="store_true", help="teddy2020: also the full encoder (slow)")
    parser.add_argument("--json", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    parts = args.only or ["dev", "teddy", "speed"]
    from router.semantic import encoder_fingerprint
    from router.textmodels.static import StaticMeaning, table_path

    table = StaticMeaning().fingerprint()
    result = {"machine": run.machine(), "versions": run.versions(), "quick": args.quick,
              "encoder": f"{encoder_fingerprint()['package']} {encoder_fingerprint()['version']}",
              "static_table": {"sha256": table["sha256"], "words": table["words"], "dimensions": table["dimensions"],
                               "mb": round(table_path().stat().st_size / 2**20, 2)}}
    if "dev" in parts:
        result["dev"] = run_dev()
    if "teddy" in parts:
        result["teddy"] = run_teddy(args.quick, args.large_encoder)
    if "speed" in parts:
        result["speed"] = run_speed(args.quick)
    for part in parts:
        result[part]["measured"] = {"commit": result["versions"]["commit"],
                                    "at": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())}
    if args.json.is_file():
        # Parts not run this time are kept from the last run that measured them (each says when).
        earlier = json.loads(args.json.read_text(encoding="utf-8"))
        for part in ("dev", "teddy", "speed"):
            if part not in parts and part in earlier:
                result[part] = earlier[part]
    print(markdown(result))
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(result, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
