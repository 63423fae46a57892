"""Chart set-up in one place: matplotlib without a display, and a font that can draw Chinese.

Charts show Chinese labels when the machine has a CJK font (e.g. fonts-wqy-microhei or
fonts-noto-cjk); without one they fall back to the profile's keys, never to empty boxes.
"""

from __future__ import annotations

__all__ = ["CJK_FONT_KEYS", "cjk_font", "pyplot"]

CJK_FONT_KEYS = ("CJK", "WenQuanYi", "Hei", "YaHei", "SimSun", "Song", "Kai", "Ming", "PingFang", "Source Han",
                 "Droid Sans Fallback")


def cjk_font() -> str | None:
    """The name of a font that can draw Chinese, if the machine has one.

    matplotlib's font cache may predate a font installed later: a font file found on the
    system but missing from the cache is registered directly instead of rebuilding the cache.
    """
    from matplotlib import font_manager

    for font in font_manager.fontManager.ttflist:
        if any(key in font.name for key in CJK_FONT_KEYS):
            return font.name
    for path in font_manager.findSystemFonts():
        lowered = path.lower()
        if any(key in lowered for key in ("cjk", "wqy", "wenquanyi", "droidsansfallback", "sourcehan", "simsun")):
            try:
                font_manager.fontManager.addfont(path)
            except (OSError, RuntimeError, ValueError):
                continue
            return font_manager.FontProperties(fname=path).get_name()
    return None


def pyplot() -> tuple[object, str | None]:
    """matplotlib.pyplot on the Agg backend with the CJK font (if any) as the default; (plt, font name)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    font = cjk_font()
    if font:
        plt.rcParams["font.family"] = font
    return plt, font
