"""Department templates (county, city, province), `asks` in profiles, and `router profile init`."""

import pytest

from conftest import invoke
from router.errors import OutputError, ProfileError
from router.profile import available_templates, default_profile_path, init_profile, load_profile, template_path

# The department types of ../shared/datasets/suggestions_real/README.md, in its order, then the
# departments every county also has that the dev set does not name.
DEPARTMENT_TYPES = [
    "agriculture", "transport", "water", "education", "health", "housing_construction", "civil_affairs",
    "human_resources", "development_reform", "poverty_office", "industry_it", "culture_tourism", "forestry",
    "natural_resources", "ecology_environment", "commerce", "finance", "power",
    "healthcare_security", "public_security", "market_regulation", "emergency_management",
]
PROVINCE_NAMES = [
    "农业农村厅", "交通运输厅", "水利厅", "教育厅", "卫生健康委员会", "住房和城乡建设厅", "民政厅", "人力资源和社会保障厅",
    "发展和改革委员会", "乡村振兴局", "工业和信息化厅", "文化和旅游厅", "林业局", "自然资源厅", "生态环境厅", "商务厅",
    "财政厅", "国网电力公司", "医疗保障局", "公安厅", "市场监督管理局", "应急管理厅",
]
LEVELS = ["county", "city", "province"]


def test_available_templates():
    assert list(available_templates()) == ["county", "city", "province", "default"]
    assert template_path("default") == default_profile_path()
    with pytest.raises(ProfileError, match=r"^没有名为“town”的配置模板；请从以下选择：county、city、province、default$"):
        template_path("town")


@pytest.mark.parametrize("level", LEVELS)
def test_template_departments(level):
    profile = load_profile(template_path(level))
    assert profile.division_keys == DEPARTMENT_TYPES
    for d in profile.divisions:
        assert 80 <= len(d.remit) <= 250, (d.key, len(d.remit))
        assert d.remit.startswith("负责") and "；" in d.remit, d.key
        assert 15 <= len(d.asks) <= 40, (d.key, len(d.asks))
        if d.key == "power":
            # The grid company is an outside unit: its own head, not a deputy governor, answers.
            assert "外单位" in d.leader and "副" not in d.leader, d.leader
        else:
            assert d.leader.startswith("分管"), d.key
    every_ask = [a for d in profile.divisions for a in d.asks]
    assert len(set(every_ask)) == len(every_ask)  # no ask is listed under two departments


@pytest.mark.parametrize("level", LEVELS)
def test_template_topics_and_rules(level):
    profile = load_profile(template_path(level))
    default = load_profile()
    assert [(t.key, t.name, t.description, t.terms, t.asks) for t in profile.topics] == [
        (t.key, t.name, t.description, t.terms, t.asks) for t in default.topics
    ]
    assert set(profile.rules) == set(profile.topic_keys)
    assert all(set(leads) <= set(DEPARTMENT_TYPES) for leads in profile.rules.values())
    assert profile.rules["funding"] == ("finance", "poverty_office", "development_reform")
    assert profile.rules["infrastructure_public_services"][:3] == ("transport", "water", "power")
    assert profile.columns["lead_division"][0] == "主办单位"


def test_template_names():
    county, city, province = (load_profile(template_path(level)) for level in LEVELS)
    assert county.division("agriculture").name == "农业农村局"
    assert county.division("poverty_office").name == "乡村振兴局"
    assert all(d.name.startswith("市") for d in city.divisions)
    assert [d.name for d in province.divisions] == PROVINCE_NAMES
    assert county.division("transport").leader == "分管交通运输工作的副县长"
    assert "建设通信基站" in county.division("industry_it").asks and "危桥改造" in county.division("transport").asks
    # 医保 is the 医疗保障局's, not the health commission's.
    assert county.division("healthcare_security").name == "医疗保障局"
    assert not any("医保" in a for a in county.division("health").asks)
    assert any("医保" in a for a in county.division("healthcare_security").asks)


def test_a_bare_pilot_is_not_comprehensive():
    """DOMAIN.md rule 4: a pilot serving one sector goes to that sector; only cross-sector pilots are comprehensive."""
    for level in [*LEVELS, "default"]:
        comprehensive = load_profile(template_path(level)).topic("comprehensive")
        assert "试点" not in comprehensive.terms
        assert not any(a.endswith("改革试点") and "综合" not in a for a in comprehensive.asks)


def test_default_profile_has_asks(profile):
    assert all(8 <= len(t.asks) <= 15 for t in profile.topics)
    assert all(8 <= len(d.asks) <= 15 for d in profile.divisions)
    assert profile.division("planning_finance").remit.startswith("扶贫开发规划编制")


def test_profile_show_lists_asks(runner):
    result = invoke(runner, ["profile", "show"])
    assert result.exit_code == 0
    assert "    常见诉求：加强建议办理督办、及时答复代表建议" in result.output


def test_init_writes_a_profile_that_loads(runner, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = invoke(runner, ["profile", "init", "--template", "county"])
    assert result.exit_code == 0
    assert result.output.splitlines()[0] == "已写入配置文件：profile.toml（县级：县政府交办给所属部门；22个办理单位，5个主题）"
    assert "router --profile profile.toml train --cold" in result.output
    text = (tmp_path / "profile.toml").read_text(encoding="utf-8")
    assert text.startswith("# 本文件由 router profile init --template county 生成")
    assert text.endswith(template_path("county").read_text(encoding="utf-8"))
    written = load_profile(tmp_path / "profile.toml")
    assert written.division_keys == DEPARTMENT_TYPES
    shown = invoke(runner, ["--profile", "profile.toml", "profile", "show"])
    assert shown.exit_code == 0 and "机构：某县人民政府办公室（模板）" in shown.output


def test_init_refuses_to_overwrite_and_force_replaces(runner, tmp_path):
    path = tmp_path / "office.toml"
    path.write_text("# mine\n", encoding="utf-8")
    result = invoke(runner, ["profile", "init", "--template", "city", path])
    assert result.exit_code == 1
    assert result.output.strip() == f"Error: {path}：文件已存在；换一个文件名，或加 --force 覆盖它"
    assert path.read_text(encoding="utf-8") == "# mine\n"
    result = invoke(runner, ["profile", "init", "--template", "province", path, "--force"])
    assert result.exit_code == 0
    assert load_profile(path).division("finance").name == "财政厅"
    assert [p.name for p in tmp_path.iterdir()] == ["office.toml"]  # no temporary file left


def test_init_default_template_is_the_seed_office(tmp_path):
    written = init_profile("default", tmp_path / "seed.toml")
    assert written.division_keys == load_profile().division_keys
    assert written.source == str(tmp_path / "seed.toml")


def test_init_into_a_missing_folder(runner, tmp_path):
    path = tmp_path / "none" / "profile.toml"
    result = invoke(runner, ["profile", "init", "--template", "county", path])
    assert result.exit_code == 1
    assert result.output.strip() == f"Error: {path}：文件夹 {path.parent} 不存在；请先建立该文件夹，或换一个文件名"


def test_init_unknown_template_is_a_usage_error(runner, tmp_path):
    result = invoke(runner, ["profile", "init", "--template", "town", tmp_path / "p.toml"])
    assert result.exit_code == 2
    assert result.output.splitlines()[-1] == (
        "Error: '--template' 的取值无效：'town' 不是可选值 'county', 'city', 'province', 'default' 之一。")


def _default_with(tmp_path, old, new):
    text = default_profile_path().read_text(encoding="utf-8")
    assert text.count(old) == 1
    path = tmp_path / "office.toml"
    path.write_text(text.replace(old, new), encoding="utf-8")
    line = next(n for n, row in enumerate(text.splitlines(), start=1) if old in row)
    return path, line


@pytest.mark.parametrize(
    "old,new,message",
    [
        ('asks = ["加强建议办理督办"', 'asks = [3, "加强建议办理督办"',
         "单位“general_office”的常见诉求（asks）中的 3 不是加引号的短语；请把每条常见诉求写成字符串"),
        ('asks = ["加强建议办理督办"', 'asks = ["及时答复代表建议", "加强建议办理督办"',
         "单位“general_office”的常见诉求（asks）中“及时答复代表建议”出现两次；请只保留一个"),
        ('asks = ["加强建议办理督办"', 'asks = ["", "加强建议办理督办"',
         "单位“general_office”的常见诉求（asks）中有空短语；请删去或写上诉求"),
        ('asks = ["扶持特色种养殖产业"', 'asks = ["组织劳务输出", "扶持特色种养殖产业"',
         "主题“industry_employment”的常见诉求（asks）中“组织劳务输出”出现两次；请只保留一个"),
    ],
)
def test_bad_asks_refused_naming_file_and_line(runner, tmp_path, old, new, message):
    path, line = _default_with(tmp_path, old, new)
    result = invoke(runner, ["--profile", path, "profile", "show"])
    assert result.exit_code == 1
    assert result.output.strip() == f"Error: {path}：第 {line} 行：{message}"


def test_asks_not_a_list_refused(tmp_path):
    text = default_profile_path().read_text(encoding="utf-8")
    start = text.index('asks = ["加强建议办理督办"')
    end = text.index("\n", start)
    path = tmp_path / "office.toml"
    path.write_text(text[:start] + 'asks = "加强督办"' + text[end:], encoding="utf-8")
    line = text[:start].count("\n") + 1
    with pytest.raises(ProfileError) as info:
        load_profile(path)
    assert str(info.value) == (
        f"{path}：第 {line} 行：单位“general_office”的常见诉求（asks）应是加引号的短语列表，现在是 '加强督办'"
    )


def test_duplicate_ask_on_a_later_line_of_a_wrapped_list(tmp_path):
    text = template_path("county").read_text(encoding="utf-8")
    old = '"维修破损路面",\n'
    assert text.count(old) == 1
    path = tmp_path / "county.toml"
    path.write_text(text.replace(old, '"维修破损路面", "危桥改造",\n'), encoding="utf-8")
    line = next(n for n, row in enumerate(text.splitlines(), start=1) if '"维修破损路面"' in row)
    with pytest.raises(ProfileError) as info:
        load_profile(path)
    assert str(info.value) == f"{path}：第 {line} 行：单位“transport”的常见诉求（asks）中“危桥改造”出现两次；请只保留一个"


def test_init_onto_a_folder_refused(runner, tmp_path):
    result = invoke(runner, ["profile", "init", "--template", "county", tmp_path, "--force"])
    assert result.exit_code == 2  # click's own check of PATH
    assert result.output.splitlines()[-1] == f"Error: '[PATH]' 的取值无效：'{tmp_path}' 是文件夹，不是文件。"
    with pytest.raises(OutputError) as info:
        init_profile("county", tmp_path, force=True)
    assert str(info.value) == f"{tmp_path}：这是一个文件夹；请给出文件名，如 {tmp_path / 'profile.toml'}"
