"""The office folder: found like .git, refused writes without one, the packaged default model."""

import pytest

from conftest import INTAKE, HISTORY
from helpers import SAMPLE, write_csv


@pytest.fixture
def bare(tmp_path, monkeypatch):
    """A working folder outside any office, with no store or models chosen by the environment."""
    monkeypatch.delenv("ROUTER_STORE", raising=False)
    monkeypatch.delenv("ROUTER_MODELS", raising=False)
    monkeypatch.delenv("ROUTER_OFFICE", raising=False)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_route_without_office_uses_the_packaged_model_and_writes_no_state(runner, bare):
    from conftest import invoke

    intake = write_csv(bare / "intake.csv", SAMPLE)
    result = invoke(runner, ["route", intake, "-o", bare / "t.xlsx", "--date", "2021-02-20"])
    assert result.exit_code == 0, result.output
    assert "模型：随包默认模型（default" in result.output
    assert "未找到办公室文件夹，路由结果未记入历史库" in result.output
    assert sorted(p.name for p in bare.iterdir()) == ["intake.csv", "t.xlsx"]


@pytest.mark.parametrize("args, what", [
    (["history", "import", str(HISTORY[0])], "导入往年结果"),
    (["train", "--from-store"], "保存模型"),
    (["train", str(HISTORY[0]), "--name", "x"], "保存模型"),
    (["models", "promote", "default"], "设定当前模型"),
])
def test_writing_state_without_office_asks_for_init(runner, bare, args, what):
    from conftest import invoke

    result = invoke(runner, args)
    assert result.exit_code == 1
    assert result.output.strip().splitlines()[-1] == (
        f"Error: {what}需要办公室文件夹，但从当前文件夹向上没有找到（router-office.toml）；"
        "先运行 router init [文件夹] 建立一个（保存本单位的配置、模型和历史库），在其中运行命令，或用 --office 文件夹 指定")
    assert sorted(p.name for p in bare.iterdir()) == []


def test_init_then_commands_below_find_the_office(runner, bare):
    from conftest import invoke

    made = invoke(runner, ["init", "office"])
    assert made.exit_code == 0, made.output
    office = bare / "office"
    assert sorted(p.name for p in office.iterdir()) == ["models", "profile.toml", "router-office.toml"]
    (office / "a" / "b").mkdir(parents=True)
    import os

    os.chdir(office / "a" / "b")
    imported = invoke(runner, ["history", "import", HISTORY[0]])
    assert imported.exit_code == 0, imported.output
    assert f"（存储：{office / 'router.sqlite'}）" in imported.output
    assert not (office / "a" / "b" / "router.sqlite").exists()
    again = invoke(runner, ["init", str(office)])
    assert again.exit_code == 1
    assert "已经是办公室文件夹" in again.output


def test_office_option_and_environment(runner, bare, monkeypatch):
    from conftest import invoke

    assert invoke(runner, ["init", "o"]).exit_code == 0
    (bare / "elsewhere").mkdir()
    monkeypatch.chdir(bare / "elsewhere")
    by_option = invoke(runner, ["--office", bare / "o", "history", "import", HISTORY[0]])
    assert by_option.exit_code == 0, by_option.output
    monkeypatch.setenv("ROUTER_OFFICE", str(bare / "o"))
    by_env = invoke(runner, ["history", "import", HISTORY[0]])
    assert "新增建议 0 条" in by_env.output
    not_office = invoke(runner, ["--office", bare / "elsewhere", "history", "import", HISTORY[0]])
    assert not_office.exit_code == 1
    assert not_office.output.strip() == (f"Error: {bare / 'elsewhere'}：不是办公室文件夹（没有 router-office.toml）；"
                                         f"先运行 router init {bare / 'elsewhere'} 建立")


def test_the_default_model_ships_inside_the_package():
    from router.office import bundled_models_dir
    from router.registry import current_model_dir, verify_model

    folder = current_model_dir(bundled_models_dir())
    assert folder.name == "default"
    assert verify_model(folder)["examples"] > 0
