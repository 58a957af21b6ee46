"""Chinese segmentation for the text analytics: jieba's dictionary through rjieba (jieba-rs), same tokens."""
from __future__ import annotations

from collections.abc import Sequence

import rjieba


def segment(texts: Sequence[str | None]) -> list[list[str]]:
    """Tokens per text, in order; None or empty text gives an empty list."""
    return [[t for t in rjieba.cut(s) if t.strip()] if s else [] for s in texts]
