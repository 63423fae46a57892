"""Golden segmentations: the domain terms of DOMAIN.md come out whole, in context."""

import os
import stat

import pytest

DOMAIN_TERMS = """两不愁三保障 建档立卡 精准扶贫 精准脱贫 易地扶贫搬迁 后续扶持 产业扶贫 就业扶贫 消费扶贫 光伏扶贫
扶贫车间 扶贫龙头企业 小额信贷 扶贫小额信贷 以工代赈 东西部扶贫协作 定点帮扶 驻村帮扶 驻村工作队 第一书记
控辍保学 健康扶贫 危房改造 饮水安全 防止返贫 返贫致贫 监测帮扶 边缘户 脱贫户 深度贫困地区 贫困县摘帽 乡村振兴
有效衔接 相对贫困 村集体经济 公益性岗位 产销对接 人居环境整治 通村公路 产业路""".split()


@pytest.mark.parametrize("term", DOMAIN_TERMS)
def test_domain_term_stays_whole_in_context(tokenizer, term):
    text = f"建议进一步做好{term}工作，确保群众满意"
    assert term in tokenizer.cut_raw(text)


GOLDEN = {
    "关于加快推进易地扶贫搬迁后续扶持的建议": ["关于", "加快", "推进", "易地扶贫搬迁", "后续扶持", "的", "建议"],
    "巩固两不愁三保障成果，防止返贫致贫": ["巩固", "两不愁三保障", "成果", ",", "防止", "返贫致贫"],
    "扶贫小额信贷到期续贷": ["扶贫小额信贷", "到期", "续贷"],
}


@pytest.mark.parametrize("text,expected", GOLDEN.items())
def test_golden_segmentation(tokenizer, text, expected):
    assert tokenizer.cut_raw(text) == expected


def test_full_width_forms_are_normalized(tokenizer):
    assert tokenizer.cut("ＡＢＣ１２３万元") == tokenizer.cut("ABC123万元")
    assert "123" in tokenizer.cut("投入１２３万元")


def test_stopwords_and_punctuation_dropped(tokenizer):
    tokens = tokenizer.cut("关于加强村卫生室建设的建议。")
    assert "的" not in tokens and "。" not in tokens and "村卫生室" in tokens


def test_cache_lives_in_router_folder(tmp_path):
    from router.tokenizer import Tokenizer

    Tokenizer(cache=tmp_path / "cache").warm()
    assert [p.name.split("-")[:2] for p in (tmp_path / "cache").iterdir()] == [["jieba", "prefix"]]


def test_prefix_dictionary_from_the_cache_is_jiebas_own(tmp_path):
    # Built once, then read back from router's cache: the prefix dictionary jieba builds itself.
    import jieba

    from router.tokenizer import Tokenizer

    reference = jieba.Tokenizer()
    reference.tmp_dir = str(tmp_path / "jieba")
    reference.initialize()
    built, cached = (Tokenizer(cache=tmp_path / "cache").read_all() for _ in range(2))
    reference.load_userdict(str(built.dictionary))
    for tokenizer in (built, cached):
        assert tokenizer._jieba.FREQ == reference.FREQ and tokenizer._jieba.total == reference.total


def test_a_text_cuts_the_same_with_only_its_parts_of_the_dictionary(tmp_path):
    from router.tokenizer import Tokenizer

    texts = ["关于加快推进易地扶贫搬迁后续扶持的建议", "建议在石岭县黄泥坳村修建通村公路，解决群众出行难",
             "ＡＢＣ公司拖欠农民工工资２３万元", "巩固两不愁三保障成果，防止返贫致贫"]
    whole = Tokenizer(cache=tmp_path).read_all()
    for text in texts:  # a new tokenizer each time: it reads only this text's parts
        lazy = Tokenizer(cache=tmp_path)
        assert lazy.cut(text) == whole.cut(text) and lazy.cut(text, hmm=False) == whole.cut(text, hmm=False)
        assert lazy.cut_raw(text) == whole.cut_raw(text) and lazy.content_words(text) == whole.content_words(text)
        assert 0 < len(lazy._jieba.FREQ) < len(whole._jieba.FREQ) / 2


@pytest.mark.parametrize("damage", ["truncated", "flipped", "foreign"])
def test_damaged_prefix_cache_is_rebuilt_not_read(tmp_path, damage):
    from router.tokenizer import Tokenizer

    expected = Tokenizer(cache=tmp_path / "cache").cut("巩固两不愁三保障成果")
    (path,) = (tmp_path / "cache").iterdir()
    blob = path.read_bytes()
    if damage == "truncated":
        path.write_bytes(blob[: len(blob) // 2])
    elif damage == "flipped":  # one frequency changed, the header left as it was
        path.write_bytes(blob[:-3] + bytes([blob[-3] ^ 0x01]) + blob[-2:])
    else:
        path.write_bytes(b"\0" * 32 + blob[32:])
    assert Tokenizer(cache=tmp_path / "cache").cut("巩固两不愁三保障成果") == expected
    assert path.read_bytes() == blob  # rebuilt


@pytest.mark.skipif(os.geteuid() == 0, reason="root ignores directory permissions")
def test_read_only_cache_folder_still_works(tmp_path):
    from router.tokenizer import Tokenizer

    folder = tmp_path / "ro"
    folder.mkdir()
    folder.chmod(stat.S_IRUSR | stat.S_IXUSR)
    assert Tokenizer(cache=folder).cut("精准扶贫") == ["精准扶贫"]


def test_unwritable_cache_path_still_works(tmp_path):
    from router.tokenizer import Tokenizer

    blocker = tmp_path / "file"
    blocker.write_text("x")
    # a file in the way: the folder cannot be created
    assert Tokenizer(cache=blocker / "sub").cut("精准扶贫") == ["精准扶贫"]


def test_import_has_no_side_effects():
    import subprocess
    import sys

    code = "import router, router.cli, router.model, router.tokenizer, sys; print('jieba' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


@pytest.mark.parametrize("text,expected", [
    ("关于再次恳请硬化石岭县黄泥坳村至岩门镇道路的建议", ["再次", "硬化", "至", "道路"]),
    ("关于改善大峡县乡镇幼儿园办园条件的建议", ["改善", "大", "乡镇", "幼儿园", "办园", "条件"]),
    ("关于支持云雾县茶叶产业发展的提案", ["支持", "茶叶", "产业", "发展"]),
    ("关于贫困村集体经济和驻村帮扶的建议", ["贫困", "村集体经济", "驻村帮扶"]),
    ("关于支持全县乡村旅游和城镇建设的建议", ["支持", "全县", "乡村旅游", "城镇", "建设"]),
    ("关于在黄泥坳村建设4G基站的建议", ["建设", "基站"]),
])
def test_content_words_leave_out_places_numbers_and_boilerplate(text, expected):
    from router.tokenizer import Tokenizer

    """What features and reasons read: no place names (石岭县, 黄泥坳村), numbers or 《关于……的建议》."""
    assert Tokenizer().warm().content_words(text) == expected


def test_jieba_is_imported_without_pkg_resources_and_leaves_it_importable():
    import subprocess
    import sys

    code = ("import sys; from router.tokenizer import Tokenizer; t = Tokenizer(); print(t.cut('巩固两不愁三保障成果')); "
            "print('pkg_resources' in sys.modules); import pkg_resources; print(pkg_resources.__name__)")
    out = subprocess.run([sys.executable, "-W", "ignore", "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.splitlines() == ["['巩固', '两不愁三保障', '成果']", "False", "pkg_resources"]
