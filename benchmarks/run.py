"""The benchmark command: quality on public data, routing speed against jieba alone, growth.

    .venv/bin/python benchmarks/run.py            # everything, about 20 minutes on 2 cores
    .venv/bin/python benchmarks/run.py --quick    # a smoke run of a couple of minutes
    .venv/bin/python benchmarks/run.py --only speed
    .venv/bin/python benchmarks/run.py --only cold_start   # only the speed section's cold start (a minute)
    .venv/bin/python benchmarks/run.py --only before_after   # issue #12: route before/after the redesign

It reads the teddy2020 messages from ``../shared/datasets/teddy2020/`` beside the repository
(never copied into it), writes ``benchmarks/results/latest.json``, ``latest.md`` and
``growth.png``, prints the Markdown, and replaces the text between ``<!-- bench:start -->``
and ``<!-- bench:end -->`` in README.md.

0. Real suggestions (``benchmarks/real.py``): quality of the bundled default model, the cold
   start and the county/city templates on the real titles of ``../shared/datasets/
   suggestions_real/``, beside the written-data backtest. Every run shows both.
1. Quality: the protocol of ``../shared/datasets/README.md`` — the 7,874 messages with a body,
   text = title + body, stratified 5-fold cross-validation shuffled with seed 0, accuracy and
   macro-F1 over the pooled out-of-fold predictions, training seconds per fold; title only
   over all 9,210 messages as the second setting. router's own pipeline
   (``RouterModel.from_profile(profile).fit``, as ``router train`` calls it, with the profile
   ``benchmarks/teddy2020_profile.toml``) beside a majority class, word TF-IDF + LinearSVC,
   character 1-3-gram TF-IDF + LinearSVC and multinomial naive Bayes.
2. Speed (issue #22; ``--only speed``): ``router route`` as a subprocess over CSV files of
   5,000 and 50,000 messages (title + body, drawn from the teddy2020 bodies), for the default
   form (the bundled default model) and the large form (a model trained here on teddy2020),
   each against a process that only reads the same CSV and cuts every text with jieba, and one
   that also runs the sentence encoder over the same texts; one process and ``--jobs 2`` (their
   outputs compared byte for byte); one item from a cold start against a process that imports
   numpy and starts jieba; peak memory and time of XLSX tables of 10,000 and 100,000 rows
   beside CSV. Every ratio comes from this one run.
3. Growth: ``router train`` over 1,000 / 10,000 / 100,000 labelled items (time and peak
   memory, a table and a log-log plot), and ``router route`` over a 1,000,000-row CSV (titles
   only, to keep the run short) with its peak memory.
4. Before and after (``benchmarks/before_after.py``): ``router route`` of the bundled intake
   repeated to 1,000 and 10,000 rows (XLSX), by the code of the first round's last commit and by
   this checkout, side by side.

Peak memory is the largest sum of RSS over the process and its children, sampled every 50 ms.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import json
import os
import platform
import random
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
DATA = REPO / ".." / "shared" / "datasets" / "teddy2020"
PROFILE = REPO / "benchmarks" / "teddy2020_profile.toml"
RESULTS = REPO / "benchmarks" / "results"
README = REPO / "README.md"
MARK_START, MARK_END = "<!-- bench:start -->", "<!-- bench:end -->"
REAL_START, REAL_END = "<!-- real:start -->", "<!-- real:end -->"
BA_START, BA_END = "<!-- before-after:start -->", "<!-- before-after:end -->"
PARTS = ("real", "quality", "speed", "growth", "before_after")
ROUTER = Path(sys.executable).parent / "router"

TARGET_F1 = 0.94
TARGET_FOLD_SECONDS = 60.0
TARGET_ONE_PROCESS = 0.8
TARGET_TWO_JOBS = 1.6
TARGET_COLD_START = 2.0

PEERS = [  # as reported by contest teams, each on its own random split (SCORES.md)
    ("TF-IDF + linear SVM", "0.90–0.92"),
    ("TF-IDF + SVD + RBF SVM", "0.912"),
    ("fastText (claimed)", "0.93"),
    ("naive Bayes", "0.64–0.86"),
]

def cv_scores(labels, predicted, splits) -> dict:
    """Accuracy and macro-F1 of pooled out-of-fold predictions, and macro-F1 fold by fold."""
    from sklearn.metrics import accuracy_score, f1_score

    return {
        "accuracy": round(float(accuracy_score(labels, predicted)), 4),
        "macro_f1": round(float(f1_score(labels, predicted, average="macro")), 4),
        "fold_macro_f1": [round(float(f1_score(labels[te], predicted[te], average="macro")), 4) for _, te in splits],
    }


JIEBA_ALONE = r"""
import csv, json, logging, sys, time
start = time.perf_counter()
import jieba
logging.getLogger("jieba").setLevel(logging.ERROR)
cutter = jieba.Tokenizer()
cutter.tmp_dir, cutter.cache_file = sys.argv[2], "jieba-bench.cache"
cutter.initialize()
ready = time.perf_counter()
hmm = sys.argv[3] == "hmm"
count = 0
with open(sys.argv[1], encoding="utf-8", newline="") as handle:
    rows = csv.reader(handle)
    next(rows)
    for row in rows:
        cutter.lcut(f"{row[1]}\n{row[2]}".strip(), HMM=hmm)
        count += 1
print(json.dumps({"items": count, "startup_s": ready - start, "cut_s": time.perf_counter() - ready}))
"""


# --------------------------------------------------------------------------- helpers


def log(message: str) -> None:
    print(f"[{dt.datetime.now():%H:%M:%S}] {message}", file=sys.stderr, flush=True)


def machine() -> dict:
    cpu = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        cpu = platform.processor()
    memory_gb = None
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                memory_gb = round(int(line.split()[1]) / 1024 / 1024, 1)
    except OSError:
        pass
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return {"cpu": cpu or platform.machine(), "cores": os.cpu_count(), "usable_cores": usable,
            "memory_gb": memory_gb, "os": platform.platform(), "python": platform.python_version()}


def versions() -> dict:
    import jieba
    import numpy
    import psutil
    import scipy
    import sklearn

    import router

    commit = ""
    try:
        commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=REPO, capture_output=True,
                                text=True, check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=REPO,
                               capture_output=True, text=True, check=True).stdout.strip()
        commit += "+changes" if dirty else ""
    except (OSError, subprocess.CalledProcessError):
        pass
    return {"router": router.__version__, "commit": commit, "scikit-learn": sklearn.__version__,
            "jieba": jieba.__version__, "numpy": numpy.__version__, "scipy": scipy.__version__,
            "psutil": psutil.__version__}


def measure(cmd: list[str], *, cwd: Path, env: dict | None = None) -> dict:
    """Run a command; its wall time, peak RSS of its process tree, and its stdout."""
    import psutil

    out_path, err_path = cwd / ".stdout", cwd / ".stderr"
    with open(out_path, "wb") as out, open(err_path, "wb") as err:
        start = time.perf_counter()
        process = psutil.Popen(cmd, cwd=cwd, env=env, stdout=out, stderr=err)
        peak = 0
        while process.poll() is None:
            try:
                tree = [process] + process.children(recursive=True)
                peak = max(peak, sum(p.memory_info().rss for p in tree if p.is_running()))
            except psutil.Error:
                pass
            time.sleep(0.05)
        seconds = time.perf_counter() - start
    stdout = out_path.read_text(encoding="utf-8", errors="replace")
    if process.returncode != 0:
        raise RuntimeError(f"{' '.join(map(str, cmd))} failed ({process.returncode}):\n"
                           f"{err_path.read_text(encoding='utf-8', errors='replace')[-2000:]}")
    return {"seconds": seconds, "peak_rss_mb": round(peak / 2**20, 1), "stdout": stdout}


def load_messages() -> list[dict]:
    path = DATA / "messages.csv"
    if not path.is_file():
        sys.exit(f"Error: {path.resolve()} not found; put the shared datasets folder beside the repository")
    with open(path, encoding="utf-8", newline="") as handle:
        return [{"title": r["title"].strip(), "body": r["body"].strip(), "label": r["label"].strip()}
                for r in csv.DictReader(handle)]


def text_of(message: dict, with_body: bool) -> str:
    # The same text router builds from an intake row: title, a line break, body.
    return f"{message['title']}\n{message['body']}".strip() if with_body else message["title"]


def cycle(items: list, n: int, seed: int) -> list:
    """``n`` items: passes over a shuffled copy, so small samples have no repeats."""
    rng = random.Random(seed)
    out: list = []
    while len(out) < n:
        order = items[:]
        rng.shuffle(order)
        out.extend(order[: n - len(out)])
    return out


def write_intake(path: Path, messages: list[dict], *, with_body: bool = True) -> None:
    with open(path, "w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["id", "title", "body"])
        for i, m in enumerate(messages, 1):
            writer.writerow([f"B{i:07d}", m["title"], m["body"] if with_body else ""])


def write_history(path: Path, messages: list[dict], profile) -> None:
    """A labelled year as `router train` reads it: topic and lead division by name."""
    with open(path, "w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["id", "title", "body", "topic", "lead_division"])
        for i, m in enumerate(messages, 1):
            topic = profile.topic_key(m["label"])
            division = profile.division(profile.rules[topic][0]).name
            writer.writerow([f"H{i:07d}", m["title"], m["body"], m["label"], division])


# --------------------------------------------------------------------------- 1. quality


def _baselines():
    import numpy as np
    from sklearn.dummy import DummyClassifier
    from sklearn.feature_extraction.text import CountVectorizer, TfidfVectorizer
    from sklearn.naive_bayes import MultinomialNB
    from sklearn.pipeline import make_pipeline
    from sklearn.svm import LinearSVC

    def tokens_as_is(tokens):
        return tokens

    return {
        "majority class": ("labels", lambda: DummyClassifier(strategy="most_frequent")),
        "word TF-IDF + LinearSVC": ("tokens", lambda: make_pipeline(
            TfidfVectorizer(analyzer=tokens_as_is, sublinear_tf=True), LinearSVC(C=1.0))),
        "char 1-3-gram TF-IDF + LinearSVC": ("text", lambda: make_pipeline(
            TfidfVectorizer(analyzer="char", ngram_range=(1, 3), sublinear_tf=True, dtype=np.float32),
            LinearSVC(C=1.0))),
        "multinomial naive Bayes (word counts)": ("tokens", lambda: make_pipeline(
            CountVectorizer(analyzer=tokens_as_is), MultinomialNB())),
    }


def quality_setting(name: str, messages: list[dict], with_body: bool, profile, folds: int) -> dict:
    import numpy as np
    from sklearn.model_selection import StratifiedKFold

    from router.model import Example, RouterModel
    from router.tokenizer import Tokenizer, normalize

    texts = [text_of(m, with_body) for m in messages]
    labels = np.array([profile.topic_key(m["label"]) for m in messages])
    lead = {t: profile.rules[t][0] for t in profile.topic_keys}
    splits = list(StratifiedKFold(n_splits=folds, shuffle=True, random_state=0).split(texts, labels))
    tokenizer = Tokenizer().warm()

    # Baselines share one jieba pass; each fold is charged its share of that time.
    start = time.perf_counter()
    tokens = tokenizer.cut_many(texts)
    tokenize_seconds = time.perf_counter() - start
    normalized = [normalize(t) for t in texts]

    rows = {}
    candidates = {"router": None, **_baselines()}
    for model_name, spec in candidates.items():
        log(f"quality · {name} · {model_name}")
        predicted = np.empty(len(texts), dtype=object)
        fold_seconds = []
        for train, test in splits:
            if spec is None:
                examples = [Example(texts[i], labels[i], lead[labels[i]]) for i in train]
                start = time.perf_counter()
                model = RouterModel.from_profile(profile).fit(examples, profile, tokenizer)
                fold_seconds.append(time.perf_counter() - start)
                decisions = model.decide([texts[i] for i in test])
                predicted[test] = [max(d.topic_proba, key=d.topic_proba.get) for d in decisions]
            else:
                source, make = spec
                inputs = {"tokens": tokens, "text": normalized, "labels": texts}[source]
                start = time.perf_counter()
                classifier = make().fit([inputs[i] for i in train], labels[train])
                seconds = time.perf_counter() - start
                if source == "tokens":
                    seconds += tokenize_seconds * len(train) / len(texts)
                fold_seconds.append(seconds)
                predicted[test] = classifier.predict([inputs[i] for i in test])
        predicted = predicted.astype(str)
        rows[model_name] = {**cv_scores(labels, predicted, splits),
                            "train_seconds_per_fold": [round(s, 2) for s in fold_seconds]}
        log(f"  macro-F1 {rows[model_name]['macro_f1']:.4f}, train {max(fold_seconds):.1f} s/fold at most")
    return {"items": len(texts), "folds": folds, "with_body": with_body, "models": rows,
            "tokenize_seconds_all": round(tokenize_seconds, 2)}


def run_quality(messages: list[dict], quick: bool) -> dict:
    from router.profile import load_profile

    profile = load_profile(PROFILE)
    with_body = [m for m in messages if m["body"]]
    if quick:  # a stratified-enough sample: every n-th message keeps the label mix
        with_body, messages = with_body[::3], messages[::3]
    return {
        "protocol": "stratified 5-fold CV shuffled with seed 0; pooled out-of-fold predictions",
        "title+body": quality_setting("title+body", with_body, True, profile, 5),
        "title only": quality_setting("title only", messages, False, profile, 5),
    }


# --------------------------------------------------------------------------- 2. speed


JIEBA_ENCODER = r"""
import csv, json, logging, sys, time
start = time.perf_counter()
import jieba
from router.semantic import SentenceEncoder, meaning_text
logging.getLogger("jieba").setLevel(logging.ERROR)
cutter = jieba.Tokenizer()
cutter.tmp_dir, cutter.cache_file = sys.argv[2], "jieba-bench.cache"
cutter.initialize()
encoder = SentenceEncoder()
encoder.cache = sys.argv[2]
encoder.remember = False
encoder.warm()
ready = time.perf_counter()
hmm = sys.argv[3] == "hmm"
count, texts = 0, []
with open(sys.argv[1], encoding="utf-8", newline="") as handle:
    rows = csv.reader(handle)
    next(rows)
    for row in rows:
        text = f"{row[1]}\n{row[2]}".strip()
        cutter.lcut(text, HMM=hmm)
        texts.append(text)
        count += 1
        if len(texts) == 500:
            encoder.encode(texts)
            texts = []
encoder.encode(texts)
print(json.dumps({"items": count, "startup_s": ready - start, "cut_s": time.perf_counter() - ready}))
"""

# The floor a cold start is held to: a new process that imports numpy and starts jieba (its
# prefix dictionary from the cache), then cuts one text.
FLOOR = r"""
import logging, sys
import numpy
import jieba
logging.getLogger("jieba").setLevel(logging.ERROR)
cutter = jieba.Tokenizer()
cutter.tmp_dir, cutter.cache_file = sys.argv[1], "jieba-bench.cache"
cutter.initialize()
cutter.lcut("关于加强城市道路维护的建议", HMM=False)
"""

BUNDLED = REPO / "src" / "router" / "resources" / "models" / "default"
TARGET_COLD_RATIO = 1.5
TARGET_ONE_CORE_SECONDS = 10.0
ONE_CORE_ITEMS = 1000
TARGET_XLSX_MB = 1024
TARGET_XLSX_TIME = 2.0
SPEED_SIZES = (5000, 50000)
XLSX_SIZES = (10000, 100000)


def train_model(work: Path, messages: list[dict], name: str) -> tuple[Path, dict]:
    from router.profile import load_profile

    history = work / f"history_{name}_2020.csv"
    write_history(history, messages, load_profile(PROFILE))
    result = measure([str(ROUTER), "--profile", str(PROFILE), "train", str(history), "--models",
                      str(work / "models"), "--name", name], cwd=work)
    history.unlink()
    return work / "models" / name, result


def route(work: Path, model: Path, intake: Path, jobs: int, *, profile: Path | None = PROFILE, fmt: str = "csv",
          keep: bool = False, prefix: tuple[str, ...] = ()) -> dict:
    out = work / f"{intake.stem}_out_{jobs}.{fmt}"
    command = [*prefix, str(ROUTER), *(["--profile", str(profile)] if profile else []), "route", str(intake), "-o", str(out),
               "--model", str(model), "--format", fmt, "--jobs", str(jobs), "--date", "2020-06-01"]
    result = measure(command, cwd=work, env=dict(os.environ, ROUTER_CACHE_DIR=str(work / "router-cache")))
    if fmt == "csv":
        with open(out, encoding="utf-8-sig", newline="") as handle:
            result["rows_out"] = sum(1 for _ in csv.reader(handle)) - 1
    if keep:
        result["output"] = out
    else:
        out.unlink()
    return result


def jieba_alone(work: Path, intake: Path, hmm: bool, *, encoder: bool = False) -> dict:
    cache = work / "jieba-cache"
    cache.mkdir(exist_ok=True)
    script = JIEBA_ENCODER if encoder else JIEBA_ALONE
    result = measure([sys.executable, "-c", script, str(intake), str(cache), "hmm" if hmm else "nohmm"], cwd=work,
                     env=dict(os.environ, PYTHONPATH=str(REPO / "src")))
    result.update(json.loads(result.pop("stdout")))
    return result


def _form_runs(work: Path, model: Path, profile: Path | None, bodies: list[dict], sizes, hmm: bool,
               encoder_at: int) -> list[dict]:
    """One form's routing against jieba alone (and jieba + encoder at ``encoder_at`` items), one run each."""
    runs = []
    for n in sizes:
        intake = _sample_intake(work, bodies, n)
        log(f"speed · {model.name} · {n} items · jieba alone")
        row = {"items": n, "jieba_alone": jieba_alone(work, intake, hmm)}
        if n == encoder_at:
            log(f"speed · {model.name} · {n} items · jieba + encoder")
            row["jieba_encoder"] = jieba_alone(work, intake, hmm, encoder=True)
        log(f"speed · {model.name} · {n} items · router route --jobs 1, --jobs 2")
        one = route(work, model, intake, 1, profile=profile, keep=True)
        two = route(work, model, intake, 2, profile=profile, keep=True)
        row["same_output"] = one["output"].read_bytes() == two["output"].read_bytes()
        for r in (one, two):
            r.pop("output").unlink()
            r.pop("stdout", None)
        row.update(route_jobs1=one, route_jobs2=two,
                   ratio_to_jieba=round(row["jieba_alone"]["seconds"] / one["seconds"], 3),
                   jobs2_speedup=round(one["seconds"] / two["seconds"], 3))
        if "jieba_encoder" in row:
            row["ratio_to_jieba_encoder"] = round(row["jieba_encoder"]["seconds"] / one["seconds"], 3)
        log(f"  jieba {row['jieba_alone']['seconds']:.1f} s, route {one['seconds']:.1f} s "
            f"(x{row['ratio_to_jieba']}), --jobs 2 {two['seconds']:.1f} s (x{row['jobs2_speedup']}), "
            f"same output: {row['same_output']}")
        runs.append(row)
        intake.unlink()
    return runs


def run_speed(messages: list[dict], work: Path, quick: bool, sizes=None, default_sizes=None, xlsx_sizes=None) -> dict:
    """Every ratio of issue #22 from one run: both forms against jieba alone and jieba + encoder on the
    same texts, --jobs 2 against one process, the cold start against the numpy + jieba floor, and the
    peak memory of XLSX tables."""
    bodies = [m for m in messages if m["body"]]
    sizes = sizes or ((500, 2000) if quick else SPEED_SIZES)
    default_sizes = default_sizes or sizes[:1]
    xlsx_sizes = xlsx_sizes or ((2000,) if quick else XLSX_SIZES)
    log("speed · training the large-form model (all messages with a body)")
    model, trained = train_model(work, bodies[:2500] if quick else bodies, "speed")
    from router.registry import read_manifest

    manifest = read_manifest(model)
    default_manifest = read_manifest(BUNDLED)
    (work / "jieba-cache").mkdir(exist_ok=True)
    warm = _sample_intake(work, bodies, 10)
    jieba_alone(work, warm, True, encoder=True)  # build its prefix-dictionary cache and the encoder's once
    route(work, BUNDLED, warm, 1, profile=None)  # and router's (jieba, the encoder's vocabulary and weights)
    route(work, model, warm, 1)
    forms = {
        "default": {"model": "bundled default model", "examples": default_manifest.get("examples"),
                    "kind": default_manifest.get("model_kind"), "text_models": default_manifest.get("text_models"),
                    "runs": _form_runs(work, BUNDLED, None, bodies, default_sizes, True, default_sizes[0])},
        "large": {"model": f"trained on {manifest.get('examples'):,} teddy2020 messages with a body",
                  "examples": manifest.get("examples"), "kind": manifest.get("model_kind"),
                  "text_models": manifest.get("text_models"),
                  "runs": _form_runs(work, model, PROFILE, bodies, sizes, False, sizes[0])},
    }
    cold = run_cold_start(bodies, work, quick, warmed=True)
    one_core = _one_core(work, bodies, ONE_CORE_ITEMS // 5 if quick else ONE_CORE_ITEMS)
    xlsx = []
    for n in xlsx_sizes:
        intake = _sample_intake(work, bodies, n)
        log(f"speed · XLSX and CSV tables of {n:,} rows (large form)")
        as_xlsx = route(work, model, intake, 1, fmt="xlsx")
        row = {"rows": n, "xlsx_seconds": round(as_xlsx["seconds"], 1), "xlsx_peak_rss_mb": as_xlsx["peak_rss_mb"]}
        if n == xlsx_sizes[0]:  # the time against CSV at the first size (the largest doubles the section's time)
            as_csv = route(work, model, intake, 1)
            row.update(csv_seconds=round(as_csv["seconds"], 1), csv_peak_rss_mb=as_csv["peak_rss_mb"],
                       xlsx_to_csv_time=round(as_xlsx["seconds"] / as_csv["seconds"], 2))
        xlsx.append(row)
        log(f"  XLSX {as_xlsx['seconds']:.0f} s, {as_xlsx['peak_rss_mb']:.0f} MB; CSV {row.get('csv_seconds', '–')} s")
        intake.unlink()
    return {
        "model": {"examples": manifest.get("examples"), "train_seconds": round(trained["seconds"], 1),
                  "train_peak_rss_mb": trained["peak_rss_mb"], "model_file_mb": round(
                      (model / "model.joblib").stat().st_size / 2**20, 1), "large_history_form": True},
        "forms": forms,
        "runs": forms["large"]["runs"],
        **cold,
        "one_core": one_core,
        "xlsx": xlsx,
        "model_dir": str(model),
    }


def _one_core(work: Path, bodies: list[dict], n: int) -> dict:
    """`router route` of ``n`` items with bodies (default form, bundled model) as a new process held to
    one core (``taskset -c 0``, where the platform has it), start-up and model load included."""
    intake = _sample_intake(work, bodies, n)
    log(f"speed · {n:,} items with bodies on one core (default form)")
    prefix = ("taskset", "-c", "0") if shutil.which("taskset") else ()
    result = route(work, BUNDLED, intake, 1, profile=None, prefix=prefix)
    intake.unlink()
    log(f"  {result['seconds']:.1f} s")
    return {"items": n, "seconds": round(result["seconds"], 2), "one_core": bool(prefix),
            "peak_rss_mb": result["peak_rss_mb"]}


def run_cold_start(bodies: list[dict], work: Path, quick: bool, *, warmed: bool = False, runs: int | None = None) -> dict:
    """One item from a cold start (default form, bundled model, model load included) against the numpy +
    jieba floor, interleaved runs. ``warmed``: the caches (jieba's, the encoder's) are already built."""
    (work / "jieba-cache").mkdir(exist_ok=True)
    single = _sample_intake(work, bodies, 1)
    if not warmed:  # build jieba's prefix-dictionary cache and router's (jieba, the encoder's) once
        measure([sys.executable, "-c", FLOOR, str(work / "jieba-cache")], cwd=work)
        route(work, BUNDLED, single, 1, profile=None)
    log("speed · cold start, one item (default form), against the numpy + jieba floor")
    cold, floor = [], []
    for _ in range(runs or (3 if quick else 5)):  # interleaved, so that the machine's load moves both alike
        floor.append(measure([sys.executable, "-c", FLOOR, str(work / "jieba-cache")], cwd=work)["seconds"])
        cold.append(route(work, BUNDLED, single, 1, profile=None)["seconds"])
    single.unlink()
    log(f"  cold start {statistics.median(cold):.2f} s, floor {statistics.median(floor):.2f} s")
    return {
        "cold_start_seconds": {"median": round(statistics.median(cold), 3), "min": round(min(cold), 3),
                               "all": [round(c, 3) for c in cold]},
        "floor_seconds": {"median": round(statistics.median(floor), 3), "all": [round(c, 3) for c in floor]},
        "cold_to_floor": round(statistics.median(cold) / statistics.median(floor), 2),
    }


def _median_run(run, repeats: int) -> dict:
    """The run with the median time of ``repeats``, with every run's seconds beside it."""
    results = sorted((run() for _ in range(repeats)), key=lambda r: r["seconds"])
    chosen = dict(results[len(results) // 2])
    chosen["all_seconds"] = [round(r["seconds"], 3) for r in results]
    return chosen


def _sample_intake(work: Path, bodies: list[dict], n: int) -> Path:
    path = work / f"intake_{n}.csv"
    write_intake(path, cycle(bodies, n, seed=n))
    return path


# --------------------------------------------------------------------------- 3. growth


def run_growth(messages: list[dict], work: Path, quick: bool, model: Path | None) -> dict:
    bodies = [m for m in messages if m["body"]]
    sizes = [500, 1000, 2000] if quick else [1000, 10000, 100000]
    training = []
    for n in sizes:
        log(f"growth · router train on {n} items")
        folder, result = train_model(work, cycle(bodies, n, seed=n), f"growth{n}")
        training.append({"items": n, "seconds": round(result["seconds"], 2), "peak_rss_mb": result["peak_rss_mb"],
                         "model_file_mb": round((folder / "model.joblib").stat().st_size / 2**20, 1)})
        if n == sizes[-1] and model is None:  # without the speed part, route with the largest model
            model = folder
        log(f"  {result['seconds']:.1f} s, peak {result['peak_rss_mb']:.0f} MB")
    rows = 20000 if quick else 1_000_000
    log(f"growth · router route over a {rows:,}-row CSV (titles)")
    big = work / f"intake_{rows}.csv"
    write_intake(big, cycle(messages, rows, seed=1), with_body=False)
    size_mb = big.stat().st_size / 2**20
    routed = route(work, model, big, 1)
    routed.pop("stdout", None)
    big.unlink()
    log(f"  {routed['seconds']:.1f} s, peak {routed['peak_rss_mb']:.0f} MB")
    return {"training": training,
            "route_big": {"rows": rows, "input_mb": round(size_mb, 1), "seconds": round(routed["seconds"], 1),
                          "peak_rss_mb": routed["peak_rss_mb"], "rows_out": routed["rows_out"]}}


def plot_growth(growth: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    items = [r["items"] for r in growth["training"]]
    fig, axis = plt.subplots(figsize=(6, 4), dpi=110)
    axis.loglog(items, [r["seconds"] for r in growth["training"]], "o-", label="training time (s)")
    axis.loglog(items, [r["peak_rss_mb"] for r in growth["training"]], "s-", label="peak memory (MB)")
    axis.set_xlabel("labelled items")
    axis.set_title("router train: growth with the amount of history")
    axis.grid(True, which="both", alpha=0.3)
    axis.legend()
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


# --------------------------------------------------------------------------- report


def _yes(ok: bool) -> str:
    return "met" if ok else "**missed**"


def targets(results: dict) -> list[dict]:
    out = []
    real = results.get("real")
    if real:
        from real import real_targets

        out += [{"target": t["target"], "measured": f"{t['measured']}", "met": t["met"]} for t in real_targets(real)]
    quality = results.get("quality")
    if quality:
        r = quality["title+body"]["models"]["router"]
        f1, worst = r["macro_f1"], max(r["train_seconds_per_fold"])
        out.append({"target": f"router macro-F1 ≥ {TARGET_F1} (title + body)", "measured": f"{f1:.4f}",
                    "met": f1 >= TARGET_F1, "gap": round(f1 - TARGET_F1, 4)})
        out.append({"target": f"each fold trained in < {TARGET_FOLD_SECONDS:.0f} s", "measured": f"{worst:.1f} s",
                    "met": worst < TARGET_FOLD_SECONDS, "gap": round(TARGET_FOLD_SECONDS - worst, 1)})
    speed = results.get("speed")
    if speed and "forms" in speed:
        for form, block in speed["forms"].items():
            for run in block["runs"]:
                out.append({"target": f"{form} form: route ≥ {TARGET_ONE_PROCESS}x jieba alone, {run['items']:,} items",
                            "measured": f"{run['ratio_to_jieba']:.2f}x",
                            "met": run["ratio_to_jieba"] >= TARGET_ONE_PROCESS,
                            "gap": round(run["ratio_to_jieba"] - TARGET_ONE_PROCESS, 3)})
                out.append({"target": f"{form} form: --jobs 2 ≥ {TARGET_TWO_JOBS}x one process, same output, "
                                      f"{run['items']:,} items",
                            "measured": f"{run['jobs2_speedup']:.2f}x, output {'same' if run['same_output'] else 'DIFFERS'}",
                            "met": run["jobs2_speedup"] >= TARGET_TWO_JOBS and run["same_output"],
                            "gap": round(run["jobs2_speedup"] - TARGET_TWO_JOBS, 3)})
    if speed and "cold_to_floor" in speed:
        ratio = speed["cold_to_floor"]
        out.append({"target": f"one item from a cold start ≤ {TARGET_COLD_RATIO}x the numpy + jieba floor",
                    "measured": f"{ratio:.2f}x ({speed['cold_start_seconds']['median']:.2f} s against "
                                f"{speed['floor_seconds']['median']:.2f} s)",
                    "met": ratio <= TARGET_COLD_RATIO, "gap": round(TARGET_COLD_RATIO - ratio, 2)})
    if speed and "one_core" in speed:
        one = speed["one_core"]
        out.append({"target": f"default form: {one['items']:,} items with bodies in < {TARGET_ONE_CORE_SECONDS:.0f} s "
                              f"on one core, start-up included",
                    "measured": f"{one['seconds']:.1f} s" + ("" if one["one_core"] else " (not held to one core)"),
                    "met": one["seconds"] < TARGET_ONE_CORE_SECONDS})
    if speed and "forms" in speed:
        for x in speed["xlsx"]:
            out.append({"target": f"XLSX of {x['rows']:,} rows: peak < {TARGET_XLSX_MB} MB",
                        "measured": f"{x['xlsx_peak_rss_mb']:.0f} MB", "met": x["xlsx_peak_rss_mb"] < TARGET_XLSX_MB})
            if "xlsx_to_csv_time" in x:
                out.append({"target": f"XLSX of {x['rows']:,} rows: time ≤ {TARGET_XLSX_TIME:.0f}x CSV",
                            "measured": f"{x['xlsx_to_csv_time']:.2f}x", "met": x["xlsx_to_csv_time"] <= TARGET_XLSX_TIME})
    return out


def markdown(results: dict) -> str:
    m, v = results["machine"], results["versions"]
    lines = [
        f"Benchmark of {results['date']} ({'quick smoke run' if results['quick'] else 'full run'}; "
        f"`{results['command']}`). Machine: {m['cpu']}, {m['cores']} cores ({m['usable_cores']} usable), "
        f"{m['memory_gb']} GB memory, Python {m['python']}. Versions: router {v['router']} ({v['commit']}), "
        f"scikit-learn {v['scikit-learn']}, jieba {v['jieba']}, numpy {v['numpy']}, scipy {v['scipy']}.",
        "",
    ]
    checks = targets(results)
    if checks:
        lines += ["| target | measured | |", "| --- | --- | --- |"]
        lines += [f"| {c['target']} | {c['measured']} | {_yes(c['met'])} |" for c in checks]
        lines.append("")
    real = results.get("real")
    if real:
        from real import real_markdown

        lines += [real_markdown(real), ""]
    quality = results.get("quality")
    if quality:
        lines += [
            f"**Quality** on teddy2020 ({quality['protocol']}); train s/fold is the mean (max) over folds, "
            "baselines including their share of one jieba pass.",
            "",
            "| setting | model | accuracy | macro-F1 | train s/fold |",
            "| --- | --- | --- | --- | --- |",
        ]
        for setting in ("title+body", "title only"):
            block = quality[setting]
            for name, r in block["models"].items():
                seconds = r["train_seconds_per_fold"]
                label = f"**{name}**" if name == "router" else name
                lines.append(f"| {setting} ({block['items']:,}) | {label} | {r['accuracy']:.4f} | {r['macro_f1']:.4f} | "
                             f"{statistics.mean(seconds):.1f} ({max(seconds):.1f}) |")
        lines.append("| published (each its own split) | " + "; ".join(f"{n} {s}" for n, s in PEERS) + " | | | |")
        lines.append("")
    speed = results.get("speed")
    if speed and "forms" in speed:
        lines += [
            "**Speed**, every figure from this one run (one run each; the machine is named above and was shared "
            "with other work, so seconds move between runs while ratios from one run still compare): "
            "`router route … --format csv` as a new process (start-up and model load included) against a process "
            "that reads the same CSV and cuts each text with jieba (in the mode the form cuts with), and one that "
            "also encodes each text with the sentence encoder (its title and the opening of its body, as router "
            "reads them). Texts: teddy2020 messages with their bodies.",
            "",
            "| form (model) | items | jieba alone s | jieba + encoder s | route s (items/s) | route / jieba | "
            "route / jieba + encoder | --jobs 2 s | jobs 2 speed-up | same output | route peak MB |",
            "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
        ]
        for form, block in speed["forms"].items():
            for r in block["runs"]:
                one, two = r["route_jobs1"], r["route_jobs2"]
                encoder = r.get("jieba_encoder")
                with_encoder = f"{encoder['seconds']:.1f}" if encoder else "–"
                to_encoder = f"{r['ratio_to_jieba_encoder']:.2f}x" if encoder else "–"
                lines.append(
                    f"| {form} ({block['model']}, {block['kind']}) | {r['items']:,} | {r['jieba_alone']['seconds']:.1f} | "
                    f"{with_encoder} | {one['seconds']:.1f} ({r['items'] / one['seconds']:,.0f}) | "
                    f"{r['ratio_to_jieba']:.2f}x | {to_encoder} | {two['seconds']:.1f} | {r['jobs2_speedup']:.2f}x | "
                    f"{'yes' if r['same_output'] else '**no**'} | {one['peak_rss_mb']:.0f} |")
        lines += ["", _cold_sentence(speed), "",
                  "| XLSX rows (large form) | XLSX s | XLSX peak MB | CSV s | CSV peak MB | XLSX / CSV time |",
                  "| --- | --- | --- | --- | --- | --- |"]
        lines += [f"| {x['rows']:,} | {x['xlsx_seconds']:.0f} | {x['xlsx_peak_rss_mb']:.0f} | {x.get('csv_seconds', '–')} | "
                  f"{x.get('csv_peak_rss_mb', '–')} | {x.get('xlsx_to_csv_time', '–')} |" for x in speed["xlsx"]]
        lines.append("")
    elif speed and "cold_to_floor" in speed:
        lines += [_cold_sentence(speed), ""]
    growth = results.get("growth")
    if growth:
        lines += ["**Growth** of `router train` (one year of labelled items drawn from the teddy2020 bodies; "
                  "plot: `benchmarks/results/growth.png`):", "",
                  "| items | train s | peak MB | model file MB |", "| --- | --- | --- | --- |"]
        lines += [f"| {r['items']:,} | {r['seconds']:.1f} | {r['peak_rss_mb']:.0f} | {r['model_file_mb']} |"
                  for r in growth["training"]]
        big = growth["route_big"]
        lines += ["", f"`router route` over a {big['rows']:,}-row CSV ({big['input_mb']} MB of titles, "
                      f"{big['rows_out']:,} rows out): {big['seconds']:.0f} s, peak memory {big['peak_rss_mb']:.0f} MB.",
                  ""]
    before_after = results.get("before_after")
    if before_after:
        from before_after import markdown as before_after_markdown

        lines += before_after_markdown(before_after)
    return "\n".join(lines).rstrip() + "\n"


def _cold_sentence(speed: dict) -> str:
    cold, floor = speed["cold_start_seconds"], speed["floor_seconds"]
    return (f"Cold start, one item, default form, model load included: median {cold['median']:.2f} s over "
            f"{len(cold['all'])} runs, against {floor['median']:.2f} s for a process that imports numpy and "
            f"starts jieba (interleaved runs): {speed['cold_to_floor']:.2f}x the floor.")


def update_readme(table: str, start: str = MARK_START, end: str = MARK_END) -> bool:
    if not README.is_file():
        return False
    text = README.read_text(encoding="utf-8")
    pattern = re.compile(re.escape(start) + r".*?" + re.escape(end), re.S)
    if not pattern.search(text):
        return False
    text = pattern.sub(lambda _: f"{start}\n{table}{end}", text, count=1)
    README.write_text(text, encoding="utf-8")
    return True


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="small smoke run (a couple of minutes)")
    parser.add_argument("--only", choices=(*PARTS, "cold_start"), action="append",
                        help="run only this part (repeatable); default: all five; cold_start: only the speed "
                             "section's cold start against the floor (a minute)")
    parser.add_argument("--cold-runs", type=int, help="interleaved runs of the cold start (default 5, --quick 3)")
    parser.add_argument("--out", type=Path, default=RESULTS, help="results folder (default benchmarks/results)")
    parser.add_argument("--no-readme", action="store_true", help="do not update README.md")
    parser.add_argument("--speed-sizes", type=lambda t: tuple(int(x) for x in t.split(",")),
                        help="items per speed run, comma-separated (default 5000,50000)")
    parser.add_argument("--default-sizes", type=lambda t: tuple(int(x) for x in t.split(",")),
                        help="items per speed run of the default form (default: the first of --speed-sizes)")
    parser.add_argument("--xlsx-sizes", type=lambda t: tuple(int(x) for x in t.split(",")),
                        help="rows of the XLSX memory runs (default 10000,100000)")
    args = parser.parse_args(argv)
    parts = args.only or list(PARTS)

    messages = load_messages()
    results = {
        "date": dt.datetime.now().astimezone().isoformat(timespec="seconds"),
        "command": " ".join(["benchmarks/run.py", *(argv if argv is not None else sys.argv[1:])]).strip(),
        "quick": args.quick,
        "machine": machine(),
        "versions": versions(),
        "data": {"path": "../shared/datasets/teddy2020/messages.csv", "messages": len(messages),
                 "with_body": sum(1 for m in messages if m["body"])},
    }
    args.out.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="router-bench-"))
    started = time.perf_counter()
    try:
        if "real" in parts:
            from real import run_real

            results["real"] = run_real(learning=True)
        if "quality" in parts:
            results["quality"] = run_quality(messages, args.quick)
        model = None
        if "speed" in parts:
            results["speed"] = run_speed(messages, work, args.quick, args.speed_sizes, args.default_sizes,
                                         args.xlsx_sizes)
            model = Path(results["speed"].pop("model_dir"))
        elif "cold_start" in parts:
            results["speed"] = run_cold_start([m for m in messages if m["body"]], work, args.quick, runs=args.cold_runs)
        if "growth" in parts:
            results["growth"] = run_growth(messages, work, args.quick, model)
            plot_growth(results["growth"], args.out / "growth.png")
        if "before_after" in parts:
            from before_after import run_before_after

            results["before_after"] = run_before_after(work, measure, args.quick)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    results["targets"] = targets(results)
    results["benchmark_seconds"] = round(time.perf_counter() - started, 1)
    table = markdown(results)
    stem = parts[0] if len(parts) == 1 and parts[0] in ("real", "before_after", "speed", "cold_start") else "latest"
    (args.out / f"{stem}.json").write_text(json.dumps(results, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    (args.out / f"{stem}.md").write_text(table, encoding="utf-8")
    print(table)
    if not args.no_readme and parts == ["real"]:
        # A run of the real section alone refreshes its own block and leaves the last full run's.
        if update_readme(markdown(results), REAL_START, REAL_END):
            log("README.md: real-data table replaced between the real markers")
    elif not args.no_readme and parts == ["before_after"]:
        if update_readme(markdown(results), BA_START, BA_END):
            log("README.md: before/after table replaced between the before-after markers")
    elif parts in (["speed"], ["cold_start"]):
        pass  # a run of the speed section (or its cold start) alone leaves README's block of the last full run
    elif not args.no_readme and update_readme(table):
        log("README.md: results table replaced between the bench markers")
    log(f"wrote {args.out / (stem + '.json')} and {args.out / (stem + '.md')} in {results['benchmark_seconds']:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
