"""Load test of `router serve` on localhost (not part of the test suite).

    .venv/bin/python benchmarks/web_load.py [--reviewers 20] [--decisions 2000] [--threads 8]

Builds a store of its own in a temporary folder (500 routed suggestions of one year, one
account per reviewer), starts a real `router serve` process on a free 127.0.0.1 port, and lets
the reviewers work at once, each in its own thread with its own keep-alive connection: sign in,
then for each decision open the suggestion page (as a browser would, to read its CSRF token and
the latest decision) and post 修改 or 待定 with a comment unique to that decision. Each
reviewer works on its own 25 suggestions, going round them until it has posted its share.

Afterwards it checks that every decision was recorded exactly once (the set of comments in the
store equals the set posted, no duplicates, each suggestion's decisions in the order posted),
that `router store check` finds the store sound, and reports the response times (median, 95th
percentile, maximum) of the decision POSTs and of the page GETs. Nothing is asserted on time.
Writes benchmarks/results/web_load.json and prints a Markdown summary.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

PASSWORD = "load-test-password"
YEAR = 2021
CSRF = re.compile(r'name="csrf" value="([^"]+)"')
SEEN = re.compile(r'name="seen" value="(\d+)"')


def build(path: Path, reviewers: int, per_reviewer: int) -> dict[str, list[int]]:
    from router.accounts import add_user
    from router.intake import Suggestion
    from router.profile import load_profile
    from router.routing import Route
    from router.store import Store

    profile = load_profile()
    topics, divisions = profile.topic_keys, profile.division_keys
    routes = []
    for seq in range(1, reviewers * per_reviewer + 1):
        topic, division = topics[seq % len(topics)], divisions[seq % len(divisions)]
        confidence = 0.3 + (seq % 60) / 100
        routes.append(Route(
            seq=seq, suggestion=Suggestion(row=seq, id=str(seq), title=f"《关于负载测试第{seq}件事项的建议》",
                                           body=f"第{seq}件的正文，用于并发复核测试。" * 5, deputy=f"代表{seq:04d}"),
            topic=topic, topic_confidence=confidence, topics=[(topic, confidence)], division=division,
            division_confidence=confidence, divisions=[(division, confidence)], co_divisions=[], needs_review=True,
            reasons=["负载"], source="model", leader="", deadline="2021-05-20"))
    with Store.open(path) as store:
        store.record_routes(routes, year=YEAR, source="load.xlsx", model="load")
        ids = [row[0] for row in store.db.execute("SELECT id FROM suggestions ORDER BY id")]
        for k in range(reviewers):
            add_user(store, profile, f"复核员{k:02d}", role="reviewer", password=PASSWORD)
    return {f"复核员{k:02d}": ids[k * per_reviewer:(k + 1) * per_reviewer] for k in range(reviewers)}


class Client:
    """One reviewer's keep-alive connection with its session cookie."""

    def __init__(self, port: int):
        self.connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        self.cookies: dict[str, str] = {}

    def request(self, method: str, path: str, form: dict | None = None) -> tuple[int, dict, str, float]:
        headers = {"Cookie": "; ".join(f"{k}={v}" for k, v in self.cookies.items())}
        body = None
        if form is not None:
            body = urllib.parse.urlencode(form, doseq=True)
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        start = time.perf_counter()
        self.connection.request(method, path, body=body, headers=headers)
        response = self.connection.getresponse()
        text = response.read().decode("utf-8")
        elapsed = time.perf_counter() - start
        for name, value in response.getheaders():
            if name.lower() == "set-cookie":
                key, _, rest = value.partition("=")
                self.cookies[key] = rest.split(";", 1)[0]
        return response.status, dict(response.getheaders()), text, elapsed


def reviewer(port: int, name: str, suggestions: list[int], count: int, out: dict, errors: list) -> None:
    try:
        client = Client(port)
        _, _, page, _ = client.request("GET", "/login")
        status, headers, _, _ = client.request("POST", "/login", {"csrf": CSRF.search(page).group(1), "name": name,
                                                                  "password": PASSWORD})
        assert status == 303, f"{name}: sign-in answered {status}"
        posts, gets, posted = [], [], []
        for n in range(count):
            sid = suggestions[n % len(suggestions)]
            status, _, page, elapsed = client.request("GET", f"/s/{sid}")
            gets.append(elapsed)
            assert status == 200, f"{name}: GET /s/{sid} answered {status}"
            comment = f"{name}-{n:03d}"
            form = {"csrf": CSRF.search(page).group(1), "seen": SEEN.search(page).group(1), "comment": comment}
            if n % 2:
                form.update(action="待定")
            else:
                form.update(action="修改", topic="comprehensive", division="policy", co_divisions=["social"])
            status, headers, _, elapsed = client.request("POST", f"/s/{sid}/decide", form)
            posts.append(elapsed)
            location = headers.get("Location", "")
            assert status == 303 and "outcome=saved" in location, f"{name}: decision {n} answered {status} {location}"
            posted.append((sid, comment))
        out[name] = {"posts": posts, "gets": gets, "posted": posted}
    except Exception as exc:  # reported after the run
        errors.append(f"{name}: {type(exc).__name__}: {exc} ")


def _percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(p / 100 * len(ordered) + 0.5) - 1))]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--reviewers", type=int, default=20)
    parser.add_argument("--decisions", type=int, default=2000)
    parser.add_argument("--threads", type=int, default=8, help="router serve --threads")
    parser.add_argument("--timeout", type=float, default=600, help="give up after this many seconds")
    args = parser.parse_args()
    per_reviewer = args.decisions // args.reviewers
    with tempfile.TemporaryDirectory(prefix="router-load-") as folder:
        store = Path(folder) / "load.sqlite"
        slices = build(store, args.reviewers, 25)
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
        # A file, not a pipe: a pipe nobody reads fills up and stops the server mid-run.
        log = open(Path(folder) / "serve.log", "w")
        server = subprocess.Popen([sys.executable, "-m", "router", "serve", "--port", str(port), "--store", str(store),
                                   "--threads", str(args.threads)], env=env, stdout=subprocess.DEVNULL,
                                  stderr=log, text=True)
        try:
            for _ in range(300):
                try:
                    socket.create_connection(("127.0.0.1", port), timeout=1).close()
                    break
                except OSError:
                    time.sleep(0.1)
            results: dict = {}
            errors: list[str] = []
            threads = [threading.Thread(target=reviewer, args=(port, name, ids, per_reviewer, results, errors))
                       for name, ids in slices.items()]
            start = time.perf_counter()
            for t in threads:
                t.start()
            for t in threads:
                t.join(timeout=max(1.0, args.timeout - (time.perf_counter() - start)))
            wall = time.perf_counter() - start
        finally:
            server.terminate()
            server.wait(timeout=30)
            log.close()
        if errors or len(results) != len(slices):
            print("FAILED:", *errors[:5], sep="\n  ")
            return 1
        posted = [p for r in results.values() for p in r["posted"]]
        posts = [x for r in results.values() for x in r["posts"]]
        gets = [x for r in results.values() for x in r["gets"]]

        import sqlite3

        with sqlite3.connect(store) as db:
            rows = db.execute("SELECT suggestion_id, comment, reviewer FROM decisions WHERE origin = 'web' "
                              "ORDER BY id").fetchall()
        comments = [c for _, c, _ in rows]
        exactly_once = sorted(comments) == sorted(c for _, c in posted) and len(set(comments)) == len(comments)
        in_order = all(
            [c for sid, c, _ in rows if sid == s] == [c for s2, c in posted if s2 == s]
            for s in {sid for sid, _ in posted})
        check = subprocess.run([sys.executable, "-m", "router", "store", "check", "--store", str(store)], env=env,
                               capture_output=True, text=True)
        summary = {
            "reviewers": args.reviewers, "decisions_posted": len(posted), "decisions_recorded": len(rows),
            "recorded_exactly_once": exactly_once, "order_kept_per_suggestion": in_order,
            "store_check": check.stdout.strip() or check.stderr.strip(), "store_check_exit": check.returncode,
            "server_threads": args.threads, "wall_seconds": round(wall, 2),
            "decisions_per_second": round(len(posted) / wall, 1),
            "post_ms": {"median": round(statistics.median(posts) * 1000, 1),
                        "p95": round(_percentile(posts, 95) * 1000, 1), "max": round(max(posts) * 1000, 1)},
            "get_ms": {"median": round(statistics.median(gets) * 1000, 1),
                       "p95": round(_percentile(gets, 95) * 1000, 1), "max": round(max(gets) * 1000, 1)},
            "cpu_count": os.cpu_count(),
        }
    target = ROOT / "benchmarks" / "results" / "web_load.json"
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(json.dumps(summary, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    print(f"| reviewers | decisions posted / recorded | exactly once | store check | wall s | decisions/s "
          f"| POST median / p95 / max ms | GET median / p95 / max ms |\n|---|---|---|---|---|---|---|---|\n"
          f"| {summary['reviewers']} | {summary['decisions_posted']} / {summary['decisions_recorded']} "
          f"| {'yes' if exactly_once and in_order else 'NO'} | {summary['store_check']} | {summary['wall_seconds']} "
          f"| {summary['decisions_per_second']} | {summary['post_ms']['median']} / {summary['post_ms']['p95']} / "
          f"{summary['post_ms']['max']} | {summary['get_ms']['median']} / {summary['get_ms']['p95']} / "
          f"{summary['get_ms']['max']} |")
    return 0 if exactly_once and in_order and check.returncode == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
