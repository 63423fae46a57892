"""Load test of `router serve` on localhost (not part of the test suite).

    .venv/bin/python benchmarks/web_load.py [--reviewers 20] [--decisions 2000] [--threads 8] [--suggestions 10000]

Builds a store of its own in a temporary folder (``--suggestions`` routed suggestions of one
year with varied words, one account per reviewer), starts a real `router serve` process on a
free 127.0.0.1 port, and lets the reviewers work at once, each in its own thread with its own
keep-alive connection: sign in, then for each step open the suggestion page (as a browser would,
to read its CSRF token and the latest decision) and post 修改 or 待定 with a comment unique to
that step; every 5th step is a transfer (转办 with a unique reason) instead, and every 4th step
also posts a comment and runs a search (by 建议号, by a word, or by a deputy's name, in turn).
Each reviewer works on its own 25 suggestions, going round them until it has posted its share.

Afterwards it checks that every decision, transfer and comment was recorded exactly once (the
set of texts in the store equals the set posted, no duplicates, each suggestion's decisions in
the order posted), that every search found the suggestion it looked for, that `router store
check` finds the store sound, and reports the response times (median, 95th percentile,
maximum) of the POSTs, the page GETs and the searches. Nothing is asserted on time.
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
CURRENT = re.compile(r'<select name="division" id="division">.*?<option value="([^"]+)" selected', re.S)
SEARCHES: dict[int, tuple[str, str, str]] = {}  # suggestion id: (its number, two words of its title, its deputy)


def profile_divisions() -> list[str]:
    from router.profile import load_profile

    return load_profile().division_keys


WORDS = ["通村公路", "饮水安全", "危房改造", "小额信贷", "茶叶产业", "光伏扶贫", "易地搬迁", "技能培训", "村卫生室",
         "防止返贫", "电商服务", "乡村学校", "冷链物流", "产业园区", "生态护林", "医疗救助", "以工代赈", "养老服务"]


def build(path: Path, reviewers: int, per_reviewer: int, total: int) -> dict[str, list[int]]:
    from router.accounts import add_user
    from router.intake import Suggestion
    from router.profile import load_profile
    from router.routing import Route
    from router.store import Store

    profile = load_profile()
    topics, divisions = profile.topic_keys, profile.division_keys
    routes = []
    for seq in range(1, max(total, reviewers * per_reviewer) + 1):
        topic, division = topics[seq % len(topics)], divisions[seq % len(divisions)]
        confidence = 0.3 + (seq % 60) / 100
        a, b = WORDS[seq % len(WORDS)], WORDS[(seq * 7 + 3) % len(WORDS)]
        body = (f"第{seq}件：本村{a}问题突出，群众反映强烈，建议加大{b}投入，完善{a}长效机制，"
                f"明确责任单位和办理时限。") * 4
        routes.append(Route(
            seq=seq, suggestion=Suggestion(row=seq, id=str(seq), title=f"《关于加强{a}和{b}的建议（第{seq}件）》",
                                           body=body, deputy=f"代表{seq:05d}"),
            topic=topic, topic_confidence=confidence, topics=[(topic, confidence)], division=division,
            division_confidence=confidence, divisions=[(division, confidence)], co_divisions=[], needs_review=True,
            reasons=["负载"], source="model", leader="", deadline="2021-05-20"))
    with Store.open(path) as store:
        store.record_routes(routes, year=YEAR, source="load.xlsx", model="load")
        ids = [row[0] for row in store.db.execute("SELECT id FROM suggestions ORDER BY id")]
        # The reviewers work on suggestions spread over the year, not only its first rows.
        for seq, sid in enumerate(ids, start=1):
            a = WORDS[seq % len(WORDS)]
            SEARCHES[sid] = (str(seq), f"{a} （第{seq}件）", f"代表{seq:05d}")
        step = max(1, len(ids) // (reviewers * per_reviewer))
        ids = ids[::step]
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
        posts, gets, searches, posted, transfers, comments, found = [], [], [], [], [], [], []
        divisions = profile_divisions()
        for n in range(count):
            sid = suggestions[n % len(suggestions)]
            status, _, page, elapsed = client.request("GET", f"/s/{sid}")
            gets.append(elapsed)
            assert status == 200, f"{name}: GET /s/{sid} answered {status}"
            token, seen = CSRF.search(page).group(1), SEEN.search(page).group(1)
            text = f"{name}-{n:03d}"
            if n % 5 == 4:
                current = CURRENT.search(page)
                to = next(d for d in divisions if not current or d != current.group(1))
                form = {"csrf": token, "seen": seen, "to_division": to, "reason": text}
                status, headers, _, elapsed = client.request("POST", f"/s/{sid}/transfer", form)
                transfers.append((sid, text))
                posted.append((sid, f"转办：{text}"))
            else:
                form = {"csrf": token, "seen": seen, "comment": text}
                if n % 2:
                    form.update(action="待定", addressed_to="coordinator")
                else:
                    form.update(action="修改", topic="comprehensive", division="policy", co_divisions=["social"])
                status, headers, _, elapsed = client.request("POST", f"/s/{sid}/decide", form)
                posted.append((sid, text))
                if n % 2:
                    comments.append((sid, text))  # a 待定 reason opens a thread
            posts.append(elapsed)
            location = headers.get("Location", "")
            assert status == 303 and "outcome=saved" in location, f"{name}: step {n} answered {status} {location}"
            if n % 4 == 1:
                note = f"{name}-note-{n:03d}"
                status, _, _, elapsed = client.request("POST", f"/s/{sid}/comment",
                                                       {"csrf": token, "addressed_to": "", "body": note})
                posts.append(elapsed)
                assert status == 303, f"{name}: comment {n} answered {status}"
                comments.append((sid, note))
                number, words, deputy = SEARCHES[sid]
                query = (number, words, deputy)[(n // 4) % 3]
                status, _, page, elapsed = client.request("GET", "/search?" + urllib.parse.urlencode({"q": query}))
                searches.append(elapsed)
                assert status == 200, f"{name}: search answered {status}"
                found.append(f'data-sid="{sid}"' in page)
        out[name] = {"posts": posts, "gets": gets, "searches": searches, "posted": posted, "transfers": transfers,
                     "comments": comments, "found": found}
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
    parser.add_argument("--suggestions", type=int, default=10000, help="routed suggestions in the year")
    parser.add_argument("--timeout", type=float, default=600, help="give up after this many seconds")
    args = parser.parse_args()
    per_reviewer = args.decisions // args.reviewers
    with tempfile.TemporaryDirectory(prefix="router-load-") as folder:
        store = Path(folder) / "load.sqlite"
        started = time.perf_counter()
        slices = build(store, args.reviewers, 25, args.suggestions)
        print(f"store of {max(args.suggestions, args.reviewers * 25)} suggestions built in "
              f"{time.perf_counter() - started:.0f} s", file=sys.stderr)
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
        searches = [x for r in results.values() for x in r["searches"]]
        transfers = [t for r in results.values() for t in r["transfers"]]
        comments_posted = [c for r in results.values() for c in r["comments"]]
        found = [f for r in results.values() for f in r["found"]]

        import sqlite3

        with sqlite3.connect(store) as db:
            rows = db.execute("SELECT suggestion_id, comment, reviewer FROM decisions WHERE origin = 'web' "
                              "ORDER BY id").fetchall()
            transfer_rows = db.execute("SELECT suggestion_id, reason FROM transfers WHERE kind = '转办'").fetchall()
            comment_rows = db.execute("SELECT suggestion_id, body FROM comments").fetchall()
        comments = [c for _, c, _ in rows]
        exactly_once = sorted(comments) == sorted(c for _, c in posted) and len(set(comments)) == len(comments)
        transfers_once = sorted(transfer_rows) == sorted(transfers) and len(set(transfer_rows)) == len(transfer_rows)
        comments_once = sorted(comment_rows) == sorted(comments_posted) and len(set(comment_rows)) == len(comment_rows)
        in_order = all(
            [c for sid, c, _ in rows if sid == s] == [c for s2, c in posted if s2 == s]
            for s in {sid for sid, _ in posted})
        check = subprocess.run([sys.executable, "-m", "router", "store", "check", "--store", str(store)], env=env,
                               capture_output=True, text=True)
        summary = {
            "reviewers": args.reviewers, "suggestions": max(args.suggestions, args.reviewers * 25),
            "decisions_posted": len(posted), "decisions_recorded": len(rows),
            "recorded_exactly_once": exactly_once, "order_kept_per_suggestion": in_order,
            "transfers_posted": len(transfers), "transfers_recorded": len(transfer_rows),
            "transfers_exactly_once": transfers_once, "comments_posted": len(comments_posted),
            "comments_recorded": len(comment_rows), "comments_exactly_once": comments_once,
            "searches": len(searches), "searches_found_their_suggestion": sum(found),
            "store_check": check.stdout.strip() or check.stderr.strip(), "store_check_exit": check.returncode,
            "server_threads": args.threads, "wall_seconds": round(wall, 2),
            "decisions_per_second": round(len(posted) / wall, 1),
            "post_ms": {"median": round(statistics.median(posts) * 1000, 1),
                        "p95": round(_percentile(posts, 95) * 1000, 1), "max": round(max(posts) * 1000, 1)},
            "get_ms": {"median": round(statistics.median(gets) * 1000, 1),
                       "p95": round(_percentile(gets, 95) * 1000, 1), "max": round(max(gets) * 1000, 1)},
            "search_ms": {"median": round(statistics.median(searches) * 1000, 1),
                          "p95": round(_percentile(searches, 95) * 1000, 1), "max": round(max(searches) * 1000, 1)},
            "cpu_count": os.cpu_count(),
        }
    target = ROOT / "benchmarks" / "results" / "web_load.json"
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(json.dumps(summary, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    ok = exactly_once and in_order and transfers_once and comments_once and all(found)
    ms = lambda k: f"{summary[k]['median']} / {summary[k]['p95']} / {summary[k]['max']}"  # noqa: E731
    print(f"| reviewers | suggestions | decisions / transfers / comments posted = recorded | searches found | "
          f"exactly once | store check | wall s | POST median / p95 / max ms | GET ms | search ms |\n"
          f"|---|---|---|---|---|---|---|---|---|---|\n"
          f"| {summary['reviewers']} | {summary['suggestions']} | {summary['decisions_posted']}={summary['decisions_recorded']} / "
          f"{summary['transfers_posted']}={summary['transfers_recorded']} / "
          f"{summary['comments_posted']}={summary['comments_recorded']} | "
          f"{summary['searches_found_their_suggestion']} of {summary['searches']} | {'yes' if ok else 'NO'} "
          f"| {summary['store_check']} | {summary['wall_seconds']} | {ms('post_ms')} | {ms('get_ms')} | {ms('search_ms')} |")
    return 0 if ok and check.returncode == 0 else 1

if __name__ == "__main__":
    sys.exit(main())
