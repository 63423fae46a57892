import os
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "data"
HISTORY = [DATA / f"history_{year}.xlsx" for year in (2017, 2018, 2019, 2020)]
INTAKE = DATA / "intake_2021.xlsx"
ANSWERS = ROOT / "tests" / "data" / "intake_2021_answers.csv"
SHARED = ROOT.parent / "shared"


@pytest.fixture(autouse=True, scope="session")
def _private_cache(tmp_path_factory):
    # Tests never touch the user's cache, models or store.
    os.environ["ROUTER_CACHE_DIR"] = str(tmp_path_factory.mktemp("jieba-cache"))
    os.environ.pop("ROUTER_PROFILE", None)
    os.environ.pop("ROUTER_MODELS", None)
    os.environ["ROUTER_STORE"] = str(tmp_path_factory.mktemp("store") / "session.sqlite")
    yield


@pytest.fixture
def runner():
    return CliRunner()


@pytest.fixture
def profile():
    from router.profile import load_profile

    return load_profile()


@pytest.fixture(scope="session")
def tokenizer():
    from router.tokenizer import Tokenizer

    return Tokenizer(cache=os.environ["ROUTER_CACHE_DIR"]).warm()


@pytest.fixture(scope="session")
def trained_models(tmp_path_factory):
    """Trained once per session on 2017-2019 through the CLI: (models folder with m1 current, its output).

    Shared: never write into it; copy the model folder to change or promote it.
    """
    models = tmp_path_factory.mktemp("trained") / "models"
    result = invoke(CliRunner(), ["train", *HISTORY[:3], "--models", models, "--name", "m1"])
    assert result.exit_code == 0, result.output
    return models, result


@pytest.fixture
def bundled_model_dir(tmp_path):
    """A copy of the bundled default model, safe to tamper with."""
    target = tmp_path / "models" / "default"
    shutil.copytree(ROOT / "src" / "router" / "resources" / "models" / "default", target)
    (tmp_path / "models" / "CURRENT").write_text("default\n", encoding="utf-8")
    return target


def invoke(runner, args, **kwargs):
    from router.cli import cli

    return runner.invoke(cli, [str(a) for a in args], catch_exceptions=False, **kwargs)


def pytest_collection_modifyitems(items):
    """The longest tests first (the wheel walkthrough), so that no worker starts one near the end."""
    items.sort(key=lambda item: item.get_closest_marker("walkthrough") is None)
