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
        ('lead = ["planning_finance"]', 'lead = ["treasury"]', "unknown division 'treasury'"),
        ('key = "funding"', 'key = "industry_employment"', "duplicate topic key 'industry_employment'"),
        ('name = "政策法规处"', 'name = ""', "empty or missing 'name'"),
        ("[review]", "[review\n", "not valid TOML"),
        ("threshold = 0.5", "threshold = 2", "'threshold' must be a number from 0.0 to 1.0"),
    ],
)
def test_bad_profile_refused_naming_key_and_line(runner, tmp_path, old, new, message):
    path = _variant(tmp_path, old, new)
    result = invoke(runner, ["--profile", path, "profile", "show"])
    assert result.exit_code == 1
    line = result.output.strip()
    assert line.startswith(f"Error: {path}") and message in line
    assert "line" in line


def test_missing_profile(runner, tmp_path):
    result = invoke(runner, ["--profile", tmp_path / "none.toml", "profile", "show"])
    assert result.exit_code == 1 and "profile not found" in result.output
