"""Train, evaluate and route through the CLI; refusals of bad models and options."""

import csv
import json
import os

import openpyxl
import pytest

from conftest import ANSWERS, HISTORY, INTAKE, ROOT, invoke
from helpers import write_csv

APPROVAL = ROOT / "tests" / "approval" / "e2e_metrics.json"
JSONL_KEYS = ["id", "title", "topic", "topic_name", "topic_confidence", "topics", "division", "division_name",
              "division_confidence", "divisions", "co_divisions", "needs_review", "reasons", "route_source", "leader",
              "deadline"]


@pytest.fixture(scope="session")
def e2e(tmp_path_factory, trained_models):
    """A seeded run: train on 2017-2019 (the session's model), evaluate on all four years, route the 2021 intake.

    Run once per test run, by the first xdist worker to ask (under a lock in the folder the workers
    share; see conftest.trained_models). ``xdist_group`` cannot do it: pytest-xdist 3.8 marks a
    group by rewriting ``item._nodeid``, which pytest 9 no longer reads (``nodeid`` comes from
    ``item._id``), so ``--dist loadgroup`` spreads a group over the workers like ``--dist load``.
    """
    from click.testing import CliRunner

    from conftest import _Trained, _locked, _session_root

    models, trained = trained_models
    work = _session_root(tmp_path_factory) / "e2e"
    work.mkdir(exist_ok=True)
    done = work / "done.json"
    with _locked(work / ".lock"):
        if not done.is_file():
            runner = CliRunner()
            evaluated = invoke(runner, ["evaluate", *HISTORY, "--out", work / "reports"])
            assert evaluated.exit_code == 0, evaluated.output
            routed = invoke(runner, ["route", INTAKE, "--models", models, "-o", work / "out.jsonl", "--date",
                                     "2021-02-20", "--store", work / "store.sqlite"])
            assert routed.exit_code == 0, routed.output
            done.write_text(json.dumps({name: {"exit_code": r.exit_code, "output": r.output}
                                        for name, r in (("evaluated", evaluated), ("routed", routed))}),
                            encoding="utf-8")
    results = json.loads(done.read_text(encoding="utf-8"))
    return work, trained, _Trained(**results["evaluated"]), _Trained(**results["routed"])


def _answers():
    return {r["建议号"]: r for r in csv.DictReader(open(ANSWERS, encoding="utf-8"))}


def test_seeded_run_matches_approved_metrics(e2e):
    work, *_ = e2e
    report = json.loads((work / "reports" / "evaluation.json").read_text(encoding="utf-8"))
    answers = _answers()
    records = [json.loads(line) for line in (work / "out.jsonl").read_text(encoding="utf-8").splitlines()]
    observed = {
        "intake_topic_correct": sum(r["topic_name"] == answers[r["id"]]["主题"] for r in records),
        "intake_division_correct": sum(r["division_name"] == answers[r["id"]]["主办处室"] for r in records),
        "intake_needs_review": sum(r["needs_review"] for r in records),
        "backtest_topic_accuracy": report["temporal"]["pooled"]["topic"]["accuracy"],
        "backtest_division_accuracy": report["temporal"]["pooled"]["division"]["accuracy"],
        "backtest_division_top2": report["temporal"]["pooled"]["division"]["top2_accuracy"],
        "loyo_topic_macro_f1": report["leave_one_year_out"]["pooled"]["topic"]["macro_f1"],
    }
    if os.environ.get("ROUTER_APPROVE"):
        APPROVAL.write_text(json.dumps(observed, indent=2, sort_keys=True) + "\n", encoding="utf-8")
        pytest.skip("approval file written; review and commit tests/approval/e2e_metrics.json")
    assert observed == json.loads(APPROVAL.read_text(encoding="utf-8"))


def test_evaluate_writes_reports(e2e):
    work, _, evaluated, _ = e2e
    for name in ("evaluation.md", "evaluation.json", "confusion.png"):
        assert (work / "reports" / name).stat().st_size > 0
    markdown = (work / "reports" / "evaluation.md").read_text(encoding="utf-8")
    assert "时间回测" in markdown and "| 0.5 |" in markdown and "留一年交叉验证" in markdown
    assert "主题：准确率" in evaluated.output


def test_jsonl_keys_and_row_order(e2e):
    work, *_ = e2e
    records = [json.loads(line) for line in (work / "out.jsonl").read_text(encoding="utf-8").splitlines()]
    assert [r["id"] for r in records] == list(_answers())
    for r in records:
        assert list(r)[: len(JSONL_KEYS)] == JSONL_KEYS
        assert len(r["topics"]) == 3 and len(r["divisions"]) == 3
        assert r["route_source"] in ("model", "rule", "remit")
        assert r["deadline"] == "2021-05-20"
        assert len(r["co_divisions"]) <= 2 and r["division"] not in r["co_divisions"]


def test_manifest_contents_and_reproducible_hashes(trained_models, runner, tmp_path):
    models, _ = trained_models
    manifest = json.loads((models / "m1" / "manifest.json").read_text(encoding="utf-8"))
    for key in ("router", "python", "scikit-learn", "jieba", "numpy"):
        assert manifest["versions"][key]
    assert manifest["years"] == [2017, 2018, 2019]
    assert manifest["examples"] == 362
    assert manifest["scores"]["latest_year"] == 2019
    assert set(manifest["labels"]["topics"]) >= set(manifest["counts"]["topics"])
    for name in ("first", "second"):
        assert invoke(runner, ["train", HISTORY[0], "--models", tmp_path, "--name", name]).exit_code == 0
    manifest, second = (json.loads((tmp_path / n / "manifest.json").read_text(encoding="utf-8")) for n in ("first", "second"))
    for key in ("training_data", "profile", "domain_dict.txt", "stopwords.txt"):
        assert second["sha256"][key] == manifest["sha256"][key]


def test_xlsx_table_with_review_columns(runner, bundled_model_dir, tmp_path):
    out = tmp_path / "table.xlsx"
    result = invoke(runner, ["route", INTAKE, "--model", bundled_model_dir, "-o", out, "--store", tmp_path / "s.sqlite"])
    assert result.exit_code == 0, result.output
    book = openpyxl.load_workbook(out)
    sheet = book["交办任务表"]
    header = [c.value for c in sheet[1]]
    assert header[:15] == ["序号", "建议号", "标题", "领衔代表", "建议主题", "主题置信度", "建议主办处室", "建议会办处室",
                           "处室置信度", "责任领导", "办理时限", "需人工复核", "判断依据", "备选", "路由来源"]
    for name in ("复核", "确认主题", "确认主办处室", "确认会办处室", "复核意见", "复核人"):
        assert name in header
    assert sheet.max_row == 99 and sheet.freeze_panes == "D2"
    # Dropdowns: 4 review columns, and 办理类型, 重点, 转办处室, 联系方式, 答复类别, 满意度 of the handling columns.
    assert len(sheet.data_validations.dataValidation) == 10
    review_rows = [row for row in sheet.iter_rows(min_row=2, values_only=True) if row[11] == "是"]
    assert book["待复核"].max_row == len(review_rows) + 1
    assert book["选项"].sheet_state == "hidden"


def test_default_output_name_is_printed(runner, bundled_model_dir, tmp_path):
    source = tmp_path / "intake.csv"
    write_csv(source, [["编号", "标题", "内容"], ["1", "关于硬化通村公路的建议", "请求硬化村道"]])
    result = invoke(runner, ["route", source, "--model", bundled_model_dir, "--format", "csv"])
    assert result.exit_code == 0
    expected = tmp_path / "intake_交办任务表.csv"
    assert expected.is_file() and str(expected) in result.output


def test_every_row_survives_in_order_and_empty_rows_are_marked(runner, bundled_model_dir, tmp_path):
    rows = [["编号", "标题", "内容"]]
    for i in range(30):
        rows.append([str(i), "" if i % 7 == 3 else f"关于第{i}村道路硬化的建议", "" if i % 7 == 3 else "村里道路泥泞"])
    source = write_csv(tmp_path / "in.csv", rows)
    out = tmp_path / "out.csv"
    result = invoke(runner, ["route", source, "--model", bundled_model_dir, "-o", out])
    assert result.exit_code == 0, result.output
    with open(out, encoding="utf-8-sig") as handle:
        written = list(csv.DictReader(handle))
    assert [w["建议号"] for w in written] == [str(i) for i in range(30)]
    assert [w["路由来源"] == "无法路由" for w in written] == [i % 7 == 3 for i in range(30)]
    assert all(w["需人工复核"] == "是" for w in written if w["路由来源"] == "无法路由")


def test_cold_start_routes_by_remits_and_says_so(runner, tmp_path):
    models = tmp_path / "models"
    assert invoke(runner, ["train", "--cold", "--models", models, "--name", "cold"]).exit_code == 0
    out = tmp_path / "out.jsonl"
    result = invoke(runner, ["route", INTAKE, "--models", models, "-o", out, "--store", tmp_path / "s.sqlite"])
    assert result.exit_code == 0, result.output
    records = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert len(records) == 98
    assert {r["route_source"] for r in records} <= {"remit", "rule"}
    answers = _answers()
    correct = sum(r["topic_name"] == answers[r["id"]]["主题"] for r in records)
    assert correct >= 30  # far above the 9 that always guessing the largest topic would get


# --- refusals ----------------------------------------------------------------------------------


def _error(result, exit_code=1):
    """The one `Error: ...` line of a refused command, which exited with ``exit_code``."""
    assert result.exit_code == exit_code, result.output
    assert "Traceback" not in result.output
    line = result.output.strip().splitlines()[-1]
    assert line.startswith("Error: "), result.output
    return line


def test_all_empty_intake_refused_without_output(runner, bundled_model_dir, tmp_path):
    source = write_csv(tmp_path / "in.csv", [["编号", "标题", "内容"], ["1", "", ""], ["2", " ", ""]])
    out = tmp_path / "out.xlsx"
    line = _error(invoke(runner, ["route", source, "--model", bundled_model_dir, "-o", out]))
    assert line == f"Error: {source}：没有一条建议有标题或内容，无法分办；请检查文件的标题列和内容列"
    assert not out.exists() and not list(tmp_path.glob(".out.xlsx*"))


def test_tampered_model_refused(runner, bundled_model_dir, tmp_path):
    with open(bundled_model_dir / "model.joblib", "ab") as handle:
        handle.write(b"\0")
    line = _error(invoke(runner, ["route", INTAKE, "--model", bundled_model_dir, "-o", tmp_path / "o.xlsx"]))
    assert line == (f"Error: {bundled_model_dir / 'model.joblib'}：训练后被改动过（sha256 与模型清单不符），不能加载；"
                    "请恢复该文件夹，或用 router train 重新训练")
    assert not (tmp_path / "o.xlsx").exists()


def test_changed_dictionary_refused(runner, bundled_model_dir, tmp_path):
    with open(bundled_model_dir / "domain_dict.txt", "a", encoding="utf-8") as handle:
        handle.write("新词 100 n\n")
    line = _error(invoke(runner, ["route", INTAKE, "--model", bundled_model_dir, "-o", tmp_path / "o.xlsx"]))
    assert line.startswith(f"Error: {bundled_model_dir / 'domain_dict.txt'}：训练后被改动过（")


def test_model_from_newer_router_refused(runner, bundled_model_dir, tmp_path):
    path = bundled_model_dir / "manifest.json"
    manifest = json.loads(path.read_text(encoding="utf-8"))
    manifest["versions"]["router"] = "99.0.0"
    path.write_text(json.dumps(manifest), encoding="utf-8")
    line = _error(invoke(runner, ["route", INTAKE, "--model", bundled_model_dir, "-o", tmp_path / "o.xlsx"]))
    assert line == (f"Error: {bundled_model_dir}：模型由 router 99.0.0 生成（模型格式 {manifest['format_version']}），"
                    "本机是 router 0.1.0；请升级 router，或用本版本重新训练该模型")


def test_profile_with_other_topics_refused(runner, bundled_model_dir, tmp_path):
    from router.profile import default_profile_path

    text = default_profile_path().read_text(encoding="utf-8").replace('key = "funding"', 'key = "money"')
    text = text.replace('topic = "funding"', 'topic = "money"')
    profile = tmp_path / "p.toml"
    profile.write_text(text, encoding="utf-8")
    line = _error(invoke(runner, ["--profile", profile, "route", INTAKE, "--model", bundled_model_dir,
                                  "-o", tmp_path / "o.xlsx"]))
    assert line.startswith(f"Error: {bundled_model_dir}：模型的主题或处室（单位）与配置文件 {profile} 不一致")
    assert "router train --cold" in line


def test_threshold_out_of_range_is_usage_error(runner, bundled_model_dir):
    result = invoke(runner, ["route", INTAKE, "--model", bundled_model_dir, "--threshold", "2"])
    assert _error(result, 2) == "Error: '--threshold' 的取值无效：2.0 不在范围 0.0<=x<=1.0 内。"
    assert result.output.startswith("用法: router route [OPTIONS] INPUT\n运行 'router route --help' 查看帮助。")


def test_output_over_input_refused(runner, bundled_model_dir, tmp_path):
    source = write_csv(tmp_path / "in.csv", [["编号", "标题"], ["1", "关于修路的建议"]])
    before = source.read_bytes()
    result = invoke(runner, ["route", source, "--model", bundled_model_dir, "-o", source])
    assert _error(result, 2) == "Error: 输出会覆盖输入文件；请用 -o 另选一个文件"
    assert source.read_bytes() == before


def test_models_list_promote_rollback_verify(runner, tmp_path):
    models = tmp_path / "models"
    for name in ("a", "b"):
        assert invoke(runner, ["train", "--cold", "--models", models, "--name", name]).exit_code == 0
    assert (models / "CURRENT").read_text().strip() == "a"
    assert invoke(runner, ["models", "promote", "b", "--models", models]).exit_code == 0
    listing = invoke(runner, ["models", "list", "--models", models]).output
    assert "* b" in listing and "  a" in listing
    assert invoke(runner, ["models", "rollback", "--models", models]).output.strip() == "当前模型：a"
    assert invoke(runner, ["models", "verify", "--models", models]).exit_code == 0
    (models / "b" / "stopwords.txt").write_text("x", encoding="utf-8")
    verify = invoke(runner, ["models", "verify", "--models", models])
    assert verify.exit_code == 1 and "失败  b" in verify.output
    shown = json.loads(invoke(runner, ["models", "show", "a", "--models", models]).output)
    assert shown["years"] == [] and shown["examples"] == 0


def test_promote_refuses_a_worse_model_unless_forced(runner, tmp_path, trained_models):
    import random
    import shutil

    noisy_dir = tmp_path / "noisy"
    noisy_dir.mkdir()
    book = openpyxl.load_workbook(HISTORY[1])
    sheet = book.active
    header = [c.value for c in sheet[1]]
    column = header.index("主办处室") + 1
    labels = [sheet.cell(row=r, column=column).value for r in range(2, sheet.max_row + 1)]
    random.Random(0).shuffle(labels)
    for r, label in enumerate(labels, start=2):
        sheet.cell(row=r, column=column).value = label
    book.save(noisy_dir / "history_2018.xlsx")
    models = tmp_path / "models"
    # "good": the session's model trained on clean 2017-2019 (scored on 2019 after training on 2017-2018).
    shutil.copytree(trained_models[0] / "m1", models / "good")
    assert invoke(runner, ["models", "promote", "good", "--models", models]).exit_code == 0
    assert invoke(runner, ["train", noisy_dir / "history_2018.xlsx", HISTORY[2], "--models", models,
                           "--name", "noisy"]).exit_code == 0
    refused = _error(invoke(runner, ["models", "promote", "noisy", "--models", models]))
    assert refused.startswith("Error: noisy 在 2019 年的得分低于当前模型（") and refused.endswith("）；确要启用请加 --force")
    assert (models / "CURRENT").read_text().strip() == "good"
    assert invoke(runner, ["models", "promote", "noisy", "--force", "--models", models]).exit_code == 0
    assert (models / "CURRENT").read_text().strip() == "noisy"


def test_xlsx_route_cuts_each_text_once(runner, tmp_path, monkeypatch):
    """Issue #12: routing the bundled intake (XLSX, recorded in a store) runs jieba once per suggestion.

    Features, reasons, similar past suggestions and near-duplicate marks all read what the one
    pass produced; a second pass (as the first round's similar search did) doubles the calls.
    """
    import jieba
    from collections import Counter

    from router.intake import read_intake
    from router.profile import load_profile

    cuts = Counter()
    original = jieba.Tokenizer.cut

    def counted(self, sentence, *args, **kwargs):
        cuts[sentence] += 1
        return original(self, sentence, *args, **kwargs)

    monkeypatch.setattr(jieba.Tokenizer, "cut", counted)
    routed = invoke(runner, ["route", INTAKE, "-o", tmp_path / "交办任务表.xlsx", "--date", "2021-02-20",
                             "--store", tmp_path / "store.sqlite"])
    assert routed.exit_code == 0, routed.output
    _, suggestions = read_intake(INTAKE, load_profile())
    assert len(suggestions) == 98
    assert sum(cuts.values()) == len(suggestions), cuts.most_common(3)
    assert set(cuts.values()) == {1}
