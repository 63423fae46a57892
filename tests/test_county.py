"""A county office from its template routes at once, and reads its own history (issue #23, item 1)."""

import openpyxl
import pytest

from conftest import DATA, invoke
from helpers import table_header, write_csv

COUNTY_INTAKE = DATA / "county_intake_2021.xlsx"
COUNTY_HISTORY = DATA / "county_history.xlsx"


@pytest.fixture
def county(runner, tmp_path, monkeypatch):
    for name in ("ROUTER_STORE", "ROUTER_MODELS", "ROUTER_PROFILE", "ROUTER_OFFICE"):
        monkeypatch.delenv(name, raising=False)
    folder = tmp_path / "县政府办"
    result = invoke(runner, ["init", folder, "--template", "county"])
    assert result.exit_code == 0, result.output
    monkeypatch.chdir(folder)
    return folder, result.output


def test_init_from_a_template_makes_a_cold_model_and_the_first_route_works(runner, county, tmp_path):
    folder, said = county
    assert "冷启动模型" in said and "已设为当前模型" in said and "router train" in said
    table = tmp_path / "t.xlsx"
    result = invoke(runner, ["route", COUNTY_INTAKE, "-o", table, "--date", "2021年3月1日"])
    assert result.exit_code == 0, result.output
    assert "模型：冷启动模型" in result.output and "提示：" in result.output and "router train" in result.output
    sheet = openpyxl.load_workbook(table)["交办任务表"]
    at, header = table_header(sheet)
    assert "建议主办部门" in header
    assert sheet.cell(at + 1, header.index("交办日期") + 1).value == "2021-03-01"


def test_an_office_whose_model_is_gone_makes_one_on_first_route(runner, county, tmp_path):
    import shutil

    folder, _ = county
    shutil.rmtree(folder / "models")
    (folder / "models").mkdir()
    result = invoke(runner, ["route", COUNTY_INTAKE, "-o", tmp_path / "t.xlsx"])
    assert result.exit_code == 0, result.output
    assert "已依据配置中的职责和主题规则建立冷启动模型" in result.output and (folder / "models" / "CURRENT").is_file()


def test_editing_the_profile_remakes_the_cold_model(runner, county, tmp_path):
    # The clerk removes a department the county does not have, as the profile's header says to.
    folder, _ = county
    profile = folder / "profile.toml"
    text = profile.read_text(encoding="utf-8")
    start = text.index('[[divisions]]\nkey = "commerce"')
    end = text.index("[[divisions]]", start + 5)
    profile.write_text((text[:start] + text[end:]).replace('"commerce", ', "").replace(', "commerce"', ""),
                       encoding="utf-8")
    table = tmp_path / "t.xlsx"
    result = invoke(runner, ["route", COUNTY_INTAKE, "-o", table])
    assert result.exit_code == 0, result.output
    assert "配置改过" in result.output
    sheet = openpyxl.load_workbook(table)["交办任务表"]
    at, header = table_header(sheet)
    leads = {sheet.cell(r, header.index("建议主办部门") + 1).value for r in range(at + 1, at + 41)}
    assert "商务局" not in leads and "交通运输局" in leads


def test_a_history_headed_with_the_templates_alias_is_the_lead_division(runner, county):
    # 主办单位 is the county template's alias of lead_division; the default profile's alias of
    # lead_unit (the congress's unit) must not take it.
    from router.intake import open_intake
    from router.profile import load_profile

    folder, _ = county
    reader = open_intake(COUNTY_HISTORY, load_profile(folder / "profile.toml"))
    assert reader.mapping["lead_division"] == "主办单位" and "lead_unit" not in reader.mapping
    assert "主办单位 → 主办部门" in invoke(runner, ["read", COUNTY_HISTORY]).output


def test_train_reads_the_year_from_the_column_or_from_year(runner, county, tmp_path):
    result = invoke(runner, ["train", COUNTY_HISTORY])
    assert result.exit_code == 0, result.output
    assert "2020 年 40 条" in result.output and "已设为当前模型" in result.output  # replaces the cold model
    plain = write_csv(tmp_path / "往年.csv", [["标题", "主题", "主办单位"], ["关于修建柳坪村便民桥的建议",
                                                                     "基础设施建设和公共服务", "交通运输局"],
                                             ["关于改善中学食堂的建议", "教育医疗住房保障", "教育局"]])
    refused = invoke(runner, ["train", plain])
    assert refused.exit_code == 1 and "加 --year 2019" in refused.output
    given = invoke(runner, ["train", plain, "--year", "2019", "--name", "m2019"])
    assert given.exit_code == 0 and "2019 年 2 条" in given.output, given.output
    both = invoke(runner, ["train", plain, COUNTY_HISTORY, "--year", "2019"])
    assert both.exit_code == 2 and "--year 只能用于一个历史文件" in both.output


def test_profile_init_over_an_existing_file_names_force_in_chinese(runner, county):
    folder, _ = county
    result = invoke(runner, ["profile", "init", "--template", "county", folder / "profile.toml"])
    assert result.exit_code == 1
    assert result.output.strip() == f"Error: {folder / 'profile.toml'}：文件已存在；换一个文件名，或加 --force 覆盖它"


@pytest.mark.parametrize("given,day", [("2021/02/20", "2021-02-20"), ("2021.2.20", "2021-02-20"),
                                       ("20210220", "2021-02-20"), ("2021年2月20日", "2021-02-20")])
def test_dates_in_the_forms_offices_write(given, day):
    from router.cli.base import DateParam

    assert DateParam().convert(given, None, None).date().isoformat() == day
