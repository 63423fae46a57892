"""The intake report, similar past suggestions, near-duplicates, and the notebook."""

import json

import openpyxl
import pytest

from conftest import HISTORY, INTAKE, ROOT, invoke
from helpers import write_csv
from test_data import _readme_table


def test_report_reproduces_readme_counts_in_the_seed_sentence(runner, tmp_path):
    out = tmp_path / "report"
    result = invoke(runner, ["report", *HISTORY, "--year", "2020", "--out", out])
    assert result.exit_code == 0, result.output
    topics = _readme_table("topic")["2020"]
    total = topics.pop("合计")
    expected = (f"{total}件建议中，涉及产业和就业扶贫方面的{topics['产业和就业扶贫']}件，涉及扶贫资金投入方面的{topics['扶贫资金投入']}件，"
                f"涉及教育医疗住房保障方面的{topics['教育医疗住房保障']}件，涉及基础设施建设和公共服务方面的"
                f"{topics['基础设施建设和公共服务']}件，其它综合性建议{topics['其它综合性']}件。")
    assert result.output.splitlines()[0] == expected
    markdown = (out / "report.md").read_text(encoding="utf-8")
    for year, counts in _readme_table("topic").items():
        if year != "2021":
            assert f"| {year} | " + " | ".join(str(v) for k, v in counts.items() if k != "合计") in markdown
    for year, counts in _readme_table("lead division").items():
        if year != "2021":
            assert f"| {year} | " + " | ".join(str(v) for k, v in counts.items() if k != "合计") in markdown
    assert (out / "trend.png").stat().st_size > 1000
    book = openpyxl.load_workbook(out / "report.xlsx")
    assert book["办理情况"]["A1"].value == "省扶贫开发办公室（示例）关于2020年代表建议办理工作情况的报告"
    assert book["办理情况"]["A2"].value == "2020年，省扶贫开发办公室（示例）共承办代表建议120件，其中主办17件、会办103件。" + expected
    assert "| 主办 | 17 |" in markdown and "| 会办 | 103 |" in markdown


def test_report_on_an_intake_routes_it_and_finds_new_terms(runner, bundled_model_dir, tmp_path):
    out = tmp_path / "report"
    result = invoke(runner, ["report", *HISTORY, INTAKE, "--model", bundled_model_dir, "--out", out,
                             "--store", tmp_path / "none.sqlite"])
    assert result.exit_code == 0, result.output
    assert result.output.startswith("98件建议中")
    markdown = (out / "report.md").read_text(encoding="utf-8")
    assert "| 2021 |" in markdown and "## 需人工复核的建议" in markdown
    new_terms = markdown.split("## 今年新出现的词")[1].split("##")[0]
    assert "衔接资金" in new_terms  # the 2021 funding vocabulary that no earlier year used
    rising = markdown.split("## 明显增多的词")[1].split("##")[0]
    assert "过渡期" in rising


def test_repeated_suggestion_lists_the_earlier_one_first(runner, bundled_model_dir, tmp_path):
    out = tmp_path / "table.xlsx"
    assert invoke(runner, ["route", INTAKE, "--model", bundled_model_dir, "-o", out,
                           "--store", tmp_path / "s.sqlite"]).exit_code == 0
    sheet = openpyxl.load_workbook(out)["交办任务表"]
    header = [c.value for c in sheet[1]]
    rows = [dict(zip(header, r)) for r in sheet.iter_rows(min_row=2, values_only=True)]
    road = next(r for r in rows if "黄泥坳村" in r["标题"])  # 代表A007 files the 2017/2018 road ask again
    first = road["相似往年建议"].splitlines()[0]
    assert "黄泥坳村至岩门镇" in first and first[:4] in ("2017", "2018")
    tea = next(r for r in rows if "云雾茶" in r["标题"])
    assert "云雾县茶叶" in tea["相似往年建议"].splitlines()[0]


def test_near_duplicates_in_one_intake_are_flagged(runner, bundled_model_dir, tmp_path):
    body = "沙河县北部六个村饮水靠旱井，夏季水质差，冬季断水，群众盼望接通县城自来水管网，建议列入今年农村饮水安全巩固提升工程。"
    rows = [["编号", "标题", "内容"],
            ["1", "《关于解决沙河县北部六村饮水困难的建议》", body],
            ["2", "《关于支持红土县辣椒加工企业的建议》", "红土县辣椒种植面积大，缺少加工企业，建议招引龙头企业建设烘干线。"],
            ["3", "《关于解决沙河县北部六村群众饮水问题的建议》", body.replace("群众盼望", "大家盼望")]]
    source = write_csv(tmp_path / "in.csv", rows)
    out = tmp_path / "out.xlsx"
    assert invoke(runner, ["route", source, "--model", bundled_model_dir, "-o", out,
                           "--store", tmp_path / "s.sqlite"]).exit_code == 0
    sheet = openpyxl.load_workbook(out)["交办任务表"]
    flags = [row[16] for row in sheet.iter_rows(min_row=2, values_only=True)]
    assert flags[0] is None and flags[1] is None
    assert flags[2].startswith("与序号1（1）相似度")


def test_review_shows_similar_past_suggestions(runner, bundled_model_dir, tmp_path):
    result = invoke(runner, ["review", INTAKE, "--model", bundled_model_dir, "--store", tmp_path / "s.sqlite"],
                    input="s\n" * 43 + "q\n")
    assert result.exit_code == 0
    assert "往年相似：" in result.output


def test_notebook_executes(tmp_path):
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    path = ROOT / "notebooks" / "explore_history.ipynb"
    notebook = nbformat.read(path, as_version=4)
    client = nbclient.NotebookClient(notebook, timeout=240, kernel_name="python3",
                                     resources={"metadata": {"path": str(ROOT / "notebooks")}})
    client.execute()
    outputs = [o for cell in notebook.cells if cell.cell_type == "code" for o in cell.get("outputs", [])]
    assert not [o for o in outputs if o.get("output_type") == "error"]
    text = json.dumps([o.get("text", "") or o.get("data", {}).get("text/plain", "") for o in outputs], ensure_ascii=False)
    assert "2017" in text and "comprehensive" in text


def test_year_end_report_from_store_counts_every_suggestion_without_queue(runner, tmp_path):
    import openpyxl

    from helpers import SAMPLE, write_csv

    store = tmp_path / "s.sqlite"
    intake = write_csv(tmp_path / "intake.csv", [SAMPLE[0] + ["办理类型"]] + [r + ["主办"] for r in SAMPLE[1:]])
    table = tmp_path / "t.xlsx"
    assert invoke(runner, ["route", intake, "-o", table, "--date", "2021-02-20", "--store", store]).exit_code == 0
    book = openpyxl.load_workbook(table)
    sheet = book["交办任务表"]
    header = [c.value for c in sheet[1]]
    sheet.cell(2, header.index("复核") + 1, "同意")
    book.save(table)
    assert invoke(runner, ["accept", table, "--store", store]).exit_code == 0
    out = tmp_path / "rep"
    result = invoke(runner, ["report", "--from-store", "--year", "2021", "--store", store, "--out", out])
    assert result.exit_code == 0, result.output
    assert result.output.splitlines()[0].startswith("3件建议中，")
    text = (out / "report.md").read_text(encoding="utf-8")
    assert text.startswith("# 省扶贫开发办公室（示例）关于2021年代表建议办理工作情况的报告\n\n"
                           "2021年，省扶贫开发办公室（示例）共承办代表建议3件，其中主办3件、会办0件。3件建议中，")
    assert "需人工复核" not in text
    assert "需人工复核" not in openpyxl.load_workbook(out / "report.xlsx").sheetnames


def test_themes_are_whole_words():
    from router.report import is_theme

    assert [t for t in ["年建", "之后", "乡村振兴", "3公里", "问题", "衔接资金", "的话"] if is_theme(t)] == ["乡村振兴", "衔接资金"]


# Fragments and empty words the 2021 report and tables showed (issue #23): none may be a theme,
# a new word or a reason.
FRAGMENTS = ["有没有", "不要", "计入", "省会", "多亩", "公里", "余户", "万元", "北部", "保持", "争取"]


def test_fragments_are_not_words_a_reader_sees():
    from router.words import is_meaningful

    assert [t for t in FRAGMENTS if is_meaningful(t)] == []
    assert all(is_meaningful(t) for t in ["乡村振兴", "衔接资金", "卫生院", "饮水", "产业路", "危桥改造"])


def test_new_words_and_reasons_hold_no_fragment(runner, bundled_model_dir, tmp_path):
    # Two earlier years without these words, then a year whose every suggestion uses them.
    header = ["建议号", "标题", "内容", "主题", "主办处室"]
    old = [[str(n), f"关于修建第{n}村产业路的建议", "修建产业路，方便运输农产品。", "基础设施建设和公共服务", "开发指导处"]
           for n in range(1, 5)]
    history = [write_csv(tmp_path / f"history_{y}.csv", [header] + old) for y in (2019, 2020)]
    text = ("村里300多亩茶园有没有人管，不要计入省会的指标；到乡镇5公里的路没有硬化，120余户群众出行难，"
            "北部山区要保持投入，争取万元资金修路。")
    intake = write_csv(tmp_path / "intake_2021.csv", [["建议号", "标题", "内容", "办理类型"]]
                       + [[str(n), f"关于第{n}村茶园和道路的建议", text, "主办"] for n in range(1, 5)])
    out = tmp_path / "report"
    result = invoke(runner, ["report", *history, intake, "--model", bundled_model_dir, "--out", out])
    assert result.exit_code == 0, result.output
    markdown = (out / "report.md").read_text(encoding="utf-8")
    shown = markdown.split("## 今年新出现的词")[1].split("## 需人工复核")[0]
    assert "茶园" in shown
    assert [t for t in FRAGMENTS if t in shown] == []
    assert "| 主办 | 4 |" in markdown and "未注明" not in markdown
    table = tmp_path / "t.xlsx"
    assert invoke(runner, ["route", intake, "--model", bundled_model_dir, "-o", table]).exit_code == 0
    sheet = openpyxl.load_workbook(table)["交办任务表"]
    header = [c.value for c in sheet[1]]
    reasons = [w for row in sheet.iter_rows(min_row=2, values_only=True)
               for w in (row[header.index("判断依据")] or "").split("、")]
    assert reasons and [w for w in reasons if w in FRAGMENTS] == []


def test_report_from_store_reads_lead_and_co_from_the_intake(runner, tmp_path):
    from helpers import SAMPLE

    store = tmp_path / "s.sqlite"
    intake = write_csv(tmp_path / "intake.csv", [SAMPLE[0] + ["办理类型"]]
                       + [r + [role] for r, role in zip(SAMPLE[1:], ["主办", "会办", "会办"])])
    table = tmp_path / "t.xlsx"
    assert invoke(runner, ["route", intake, "-o", table, "--date", "2021-02-20", "--store", store]).exit_code == 0
    book = openpyxl.load_workbook(table)
    sheet = book["交办任务表"]
    header = [c.value for c in sheet[1]]
    for row in range(2, sheet.max_row + 1):
        sheet.cell(row, header.index("复核") + 1, "同意")
    book.save(table)
    assert invoke(runner, ["accept", table, "--store", store]).exit_code == 0
    out = tmp_path / "rep"
    # Without --year: the confirmed decisions keep the 办理类型 of the suggestions they decided.
    assert invoke(runner, ["report", "--from-store", "--store", store, "--out", out]).exit_code == 0
    text = (out / "report.md").read_text(encoding="utf-8")
    assert "| 主办 | 1 |" in text and "| 会办 | 2 |" in text and "未注明" not in text
    # The intake given again with --from-store counts each suggestion once.
    result = invoke(runner, ["report", "--from-store", intake, "--year", "2021", "--store", store, "--out", out])
    assert result.output.splitlines()[0].startswith("3件建议中，"), result.output
