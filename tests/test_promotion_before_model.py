"""Promotion compares on independent decisions, the years before the model included (issue #21, item 5)."""

import json

from conftest import HISTORY, INTAKE, invoke
from helpers import edit_table, table_row


def test_promotion_adds_the_years_before_the_model(runner, tmp_path):
    store, models, table = tmp_path / "store.sqlite", tmp_path / "models", tmp_path / "table.xlsx"
    # The office's first model learned 2017 only; 2018-2020 are imported results it never saw.
    first = invoke(runner, ["train", HISTORY[0], "--models", models, "--name", "y2017"])
    assert first.exit_code == 0, first.output
    for path in HISTORY:
        assert invoke(runner, ["history", "import", path, "--store", store]).exit_code == 0
    routed = invoke(runner, ["route", INTAKE, "--models", models, "-o", table, "--store", store, "--date", "2021-02-20"])
    assert routed.exit_code == 0, routed.output
    other = "社会扶贫处" if table_row(table, 1)["建议主办处室"] != "社会扶贫处" else "政策法规处"
    edit_table(table, {1: {"复核": "修改", "确认主办处室": other}, 2: {"复核": "同意"}, 3: {"复核": "同意"}})
    assert invoke(runner, ["accept", table, "--store", store, "--reviewer", "李四"]).exit_code == 0

    trained = invoke(runner, ["train", "--from-store", "--store", store, "--models", models, "--name", "learned"])
    assert trained.exit_code == 0, trained.output
    assert "2021 年的 1 条修改（纠正），新模型答对" in trained.output
    assert "模型之前的 2019 年（用之前的年度训练）" in trained.output
    scores = json.loads((models / "learned" / "manifest.json").read_text(encoding="utf-8"))["scores"]
    # Each year before the model is scored by a model of the years before it.
    assert sorted(scores["earlier_years"]) == ["2018", "2019", "2020"]
    assert all(v["n"] > 0 and 0 <= v["topic"]["accuracy"] <= 1 for v in scores["earlier_years"].values())
    # The latest year's independent rows are the correction (and the flagged routes reviewed), not the 同意.
    assert 1 <= scores["independent"]["n"] <= 3

    promoted = invoke(runner, ["models", "promote", "learned", "--models", models, "--store", store, "--force"])
    assert promoted.exit_code == 0, promoted.output
    assert "比较依据" not in promoted.output  # --force compares nothing
    invoke(runner, ["models", "promote", "y2017", "--models", models, "--force"])
    compared = invoke(runner, ["models", "promote", "learned", "--models", models, "--store", store])
    # y2017 never saw 2018-2020: both are scored on them beside 2021's independent decisions.
    assert "模型之前的 2018、2019、2020 年" in compared.output, compared.output
    n = scores["independent"]["n"] + sum(v["n"] for v in scores["earlier_years"].values())
    assert f"共 {n} 条" in compared.output
    if compared.exit_code == 0:
        assert "比较依据：2021 年" in compared.output and "当前模型：learned" in compared.output
    else:
        assert "得分低于当前模型" in compared.output
