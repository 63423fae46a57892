"""The office profile: the bundled default, selection, and refusals that name the key and line."""

import pytest

from conftest import invoke
from router.profile import default_profile_path


def test_default_profile_is_the_seed_office(profile):
    assert [t.name for t in profile.topics] == ["产业和就业扶贫", "扶贫资金投入", "教育医疗住房保障", "基础设施建设和公共服务", "其它综合性"]
    assert len(profile.divisions) == 6
    assert profile.deadline_months == 3
    assert profile.rules["funding"] == ("planning_finance",)


def test_profile_show(runner):
    result = invoke(runner, ["profile", "show"])
    assert result.exit_code == 0
    assert "规划财务处" in result.output and "交办之日起3个月" in result.output


def _variant(tmp_path, old, new):
    text = default_profile_path().read_text(encoding="utf-8")
    assert old in text
    path = tmp_path / "office.toml"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    return path


def test_profile_option_and_env_select_another(runner, tmp_path, monkeypatch):
    path = _variant(tmp_path, 'name = "省扶贫开发办公室（示例）"', 'name = "某县乡村振兴局"')
    assert "某县乡村振兴局" in invoke(runner, ["--profile", path, "profile", "show"]).output
    monkeypatch.setenv("ROUTER_PROFILE", str(path))
    assert "某县乡村振兴局" in invoke(runner, ["profile", "show"]).output


@pytest.mark.parametrize(
    "old,new,message",
    [
        ('lead = ["planning_finance"]', 'lead = ["treasury"]', "单位“treasury”不在配置文件中"),
        ('key = "funding"', 'key = "industry_employment"', "主题“industry_employment”重复；每个主题应有自己的键"),
        ('name = "政策法规处"', 'name = ""', "缺少“name”或为空"),
        ("[review]", "[review\n", "不是有效的 TOML 语法"),
        ("threshold = 0.5", "threshold = 2", "“threshold”应是 0.0 到 1.0 之间的数"),
    ],
)
def test_bad_profile_refused_naming_key_and_line(runner, tmp_path, old, new, message):
    path = _variant(tmp_path, old, new)
    result = invoke(runner, ["--profile", path, "profile", "show"])
    assert result.exit_code == 1
    line = result.output.strip()
    assert line.startswith(f"Error: {path}") and message in line
    assert "行" in line


def test_missing_profile(runner, tmp_path):
    result = invoke(runner, ["--profile", tmp_path / "none.toml", "profile", "show"])
    assert result.exit_code == 1 and "找不到配置文件" in result.output


def _minimal(tmp_path, extra_division="", columns=""):
    text = f'''
[office]
name = "测试"

[[topics]]
key = "道路"
name = "道路"

[[topics]]
key = "other"
name = "其他"

[[divisions]]
key = "交通科"
name = "交通科"
leader = "王局长"

[[divisions]]
key = "general"
name = "综合科"
{extra_division}
{columns}
'''
    path = tmp_path / "p.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_profile_without_intake_columns_uses_the_default_aliases(tmp_path):
    from router.profile import load_profile

    profile = load_profile(_minimal(tmp_path, 'leader = "李"'))
    default = load_profile()
    assert profile.columns == default.columns
    partial = load_profile(_minimal(tmp_path, 'leader = "李"', '[intake.columns]\ntitle = ["题目"]'))
    assert partial.columns["title"] == ("题目",)
    assert partial.columns["body"] == default.columns["body"]


def test_a_key_may_equal_its_name_but_not_another_entry(tmp_path):
    from router.errors import ProfileError
    from router.profile import load_profile

    profile = load_profile(_minimal(tmp_path, 'leader = "李"'))
    assert profile.topic_key("道路") == "道路" and profile.division_key("交通科") == "交通科"
    clash = _minimal(tmp_path, 'leader = "李"\n\n[[divisions]]\nkey = "x"\nname = "交通科"')
    with pytest.raises(ProfileError, match="单位“交通科”重复；每个单位应有自己的名称"):
        load_profile(clash)


def test_a_division_without_a_leader_is_warned_about_once(runner, tmp_path):
    from conftest import invoke

    path = _minimal(tmp_path)
    result = invoke(runner, ["--profile", path, "profile", "show"])
    assert result.exit_code == 0
    warnings = [line for line in result.output.splitlines() if line.startswith("警告：")]
    assert warnings == [f"警告：{path}：综合科 没有责任领导（leader），交办表中这些处室的责任领导一栏将空着；在配置文件中补上 leader"]


def test_unit_word_comes_from_the_profile(tmp_path):
    from router.profile import init_profile, load_profile

    assert load_profile().unit_word == "处室"
    assert init_profile("county", tmp_path / "c.toml").unit_word == "部门"
