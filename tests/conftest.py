import contextlib
import fcntl
import json
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


def _session_root(tmp_path_factory) -> Path:
    """A folder every xdist worker of this run shares (the run's base temp), else this session's."""
    base = tmp_path_factory.getbasetemp()
    return base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base


@contextlib.contextmanager
def _locked(path: Path):
    """One process at a time (the xdist workers of a run) between these lines."""
    with open(path, "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


@pytest.fixture(autouse=True, scope="session")
def _private_cache(tmp_path_factory):
    # Tests never touch the user's cache, models or store. The cache folder (jieba's prefix
    # dictionary, the encoder's parsed vocabulary and weights) is shared by the run's workers:
    # each file in it is written whole and renamed, and checked when read.
    cache = _session_root(tmp_path_factory) / "router-cache"
    cache.mkdir(exist_ok=True)
    os.environ["ROUTER_CACHE_DIR"] = str(cache)
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
    """Trained once per run on 2017-2019 through the CLI: (models folder with m1 current, its output).

    The first xdist worker to ask trains it under a lock in the folder the workers share; the
    others wait and read the same folder. Shared: never write into it; copy the model folder
    to change or promote it.
    """
    root = _session_root(tmp_path_factory) / "trained"
    root.mkdir(exist_ok=True)
    models, done = root / "models", root / "done.json"
    with _locked(root / ".lock"):
        if not done.is_file():
            result = invoke(CliRunner(), ["train", *HISTORY[:3], "--models", models, "--name", "m1"])
            assert result.exit_code == 0, result.output
            done.write_text(json.dumps({"exit_code": result.exit_code, "output": result.output}), encoding="utf-8")
    return models, _Trained(**json.loads(done.read_text(encoding="utf-8")))


class _Trained:
    """What a test reads of the training run's result (exit code and output), whichever worker trained."""

    def __init__(self, exit_code: int, output: str):
        self.exit_code = exit_code
        self.output = output


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
