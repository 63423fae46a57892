"""Which tokens a reader may be shown as words: the report's themes and new words, a route's 判断依据.

jieba leaves fragments of longer phrases (年建, 之后), of counts (300多亩 → 多亩) and measures
(5公里 → 公里); and some whole words say nothing of what a suggestion is about (有没有, 不要,
计入, 省会). :func:`is_meaningful` keeps neither; the report and the model's reasons both ask it.
"""

from __future__ import annotations

__all__ = ["is_meaningful", "STOPWORDS", "MEASURES"]

# A token starting with one of these is a count's tail (多亩, 余户, 两个) rather than a word.
_NUMERALS = set("0123456789０１２３４５６７８９一二三四五六七八九十百千万亿两几多半数余")
# A token that starts or ends with a function character is a fragment of a longer phrase.
_FRAGMENT_EDGES = set("之后年月日的了和与及在是对等为把被将从向于以其这那该每各某也都还又就而并或但个只")

# Measures and units: meaningful only with their number, never as a reason or a theme.
MEASURES = frozenset("""
公里 千米 米 厘米 平方米 平方公里 立方米 公顷 亩 万亩 公斤 千克 吨 万吨 斤 元 万元 亿元 千元 块钱 户 人次 人口 名 位
个 条 座 所 家 间 台 辆 套 处 项 件 次 批 期 届 年度 季度 个月 小时 分钟 千瓦 兆瓦 度电 岁 周岁 倍 成 左右 以上 以下
""".split())

# Whole words that say nothing of a theme: function words, modal and filler words, and the
# words every suggestion uses (建议, 问题, 群众) or that name no subject (省会, 计入).
STOPWORDS = frozenset("""
建议 问题 方面 工作 情况 有关 相关 进一步 目前 今年 去年 近年 明年 以来 我们 他们 你们 大家 自己 没有 已经 可以
需要 希望 存在 提出 加强 加大 政府 部门 群众 百姓 老百姓 地方 同时 特别 通过 实施 推进 解决 开展 听说 来自 进入
继续执行 率先 增设 提质 移交 有没有 没有没有 不要 不能 不会 不够 不足 不好 不再 不是 就是 还是 只是 只有 所有 一些 一下
一起 一直 一定 一般 一种 一个 什么 怎么 怎样 如何 为什么 是否 能否 应该 应当 必须 可能 能够 或者 因为 所以 但是
而且 如果 虽然 然后 并且 以及 其中 其他 其它 另外 此外 包括 主要 重要 非常 比较 十分 更加 尤其 进行 做好 抓好
搞好 切实 确保 尽快 及时 有效 积极 认真 全面 不断 逐步 真正 严重 很多 许多 大量 部分 基本 相应 要求 反映 代表
计入 省会 省里 县里 市里 上级 有人 这些 那些 这里 那里 现在 今后 以后 以前 之前 当前 当地 本地 全省 全市 全县
北部 南部 东部 西部 中部 经常 力量 单位 安排 保持 争取 得到 给予 帮助 做到 实现 达到 增加 提高 改善 完善 每年 每月 每天 多年 近年来 一年 两年 三年 几年 年底 年初 目标 任务 措施 办法 政策 力度 程度 水平 能力 作用
""".split())


def is_meaningful(term: str) -> bool:
    """Whether a token can stand alone before a reader: a whole word of two or more characters, not a count,
    a measure, a fragment or a word that says nothing."""
    term = (term or "").strip()
    return (len(term) >= 2 and term[0] not in _NUMERALS and not any(ch.isdigit() for ch in term)
            and term[0] not in _FRAGMENT_EDGES and term[-1] not in _FRAGMENT_EDGES
            and term not in STOPWORDS and term not in MEASURES
            and not any(term.endswith(m) and term[: -len(m)] and term[0] in _NUMERALS for m in MEASURES)
            and all("\u4e00" <= ch <= "\u9fff" or ch.isalpha() for ch in term))
