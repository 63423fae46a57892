"""The learning loop cannot mislead: training says what it used, promotion refuses what it cannot compare."""

from openpyxl import load_workbook

from conftest import invoke
from helpers import SAMPLE, write_csv


def _routed_and_confirmed(runner, tmp_path):
    store = tmp_path / "s.sqlite"
    intake = write_csv(tmp_path / "intake.csv", SAMPLE)
    table = tmp_path / "t.xlsx"
    assert invoke(runner, ["route", intake, "-o", table, "--date", "2021-02-20", "--store", store]).exit_code == 0
    sheet = load_workbook(table)["交办任务表"]
    header = [c.value for c in sheet[1]]
    flagged = sum(row[header.index("需人工复核")].value == "是" for row in sheet.iter_rows(min_row=2))
    return store, table, flagged


def test_confirm_unflagged_records_agreement_by_the_reviewer(runner, tmp_path):
    store, table, flagged = _routed_and_confirmed(runner, tmp_path)
    result = invoke(runner, ["accept", table, "--reviewer", "张三", "--confirm-unflagged", "--store", store])
    assert result.exit_code == 0, result.output
    assert result.output.splitlines()[0] == f"同意 {3 - flagged}，修改 0，待定 0，未复核 {flagged}"
    log = invoke(runner, ["decisions", "--store", store, "-o", tmp_path / "d.csv"])
    assert log.output.strip() == f"已导出复核决定 {3 - flagged} 条（1 人）：{tmp_path / 'd.csv'}"


def test_train_from_store_refuses_without_past_years(runner, tmp_path):
    store, table, flagged = _routed_and_confirmed(runner, tmp_path)
    invoke(runner, ["accept", table, "--reviewer", "张三", "--confirm-unflagged", "--store", store])
    result = invoke(runner, ["train", "--from-store", "--store", store, "--models", tmp_path / "models"])
    assert result.exit_code == 1
    assert result.output.strip() == (
        f"Error: {store}：历史库中只有本年复核过的决定（2021 年 {3 - flagged} 条），没有导入往年的分办结果，训练出的模型会误导；"
        "先逐年导入往年结果：router history import 往年.xlsx（例如 router history import data/history_2017.xlsx，"
        "2018、2019、2020 年同样），再运行 router train --from-store")
    assert not (tmp_path / "models").exists()


def test_promote_refuses_a_cold_model_over_a_trained_one(runner, tmp_path, bundled_model_dir):
    models = bundled_model_dir.parent
    assert invoke(runner, ["train", "--cold", "--name", "cold", "--models", models]).exit_code == 0
    refused = invoke(runner, ["models", "promote", "cold", "--models", models])
    assert refused.exit_code == 1
    assert refused.output.strip().startswith("Error: cold 是冷启动模型（没有历史数据，只依据职责与规则），当前模型 default 用 ")
    assert (models / "CURRENT").read_text(encoding="utf-8") == "default\n"
    forced = invoke(runner, ["models", "promote", "cold", "--force", "--models", models])
    assert forced.output.strip() == "当前模型：cold"
