"""Map an export's headers onto canonical columns: synonyms, normalised matching, a scored suggestion."""
from __future__ import annotations

import json
import re
import tomllib
import unicodedata
from functools import lru_cache
from pathlib import Path

from etl import kinds
from core.schema import label

_PUNCT = re.compile(r"[\s\-_/\\()（）\[\]【】<>《》{}.,，。:：;；'\"“”‘’、|]+")

# 'xx时间' heuristics: a date-like header whose prefix says which moment it is.
_TIME_SUFFIX = re.compile(r"(时间|日期|时限|期限|date|time)$")
_TIME_HINTS = (
    ("due_at", ("时限", "截止", "期限", "到期", "限办", "due")),
    ("closed_at", ("办结", "结案", "完成", "答复", "回复", "关闭", "办毕", "closed")),
    ("responded_at", ("签收", "响应", "联系", "接单", "受理反馈")),
    ("dispatched_at", ("派单", "派发", "交办", "转办", "分派", "下派", "派遣")),
    ("received_at", ("受理", "来电", "登记", "创建", "留言", "反映", "接收", "诉求", "提交", "created")),
    ("opened_at", ("发起", "吹哨", "立案")),
    ("occurred_at", ("发生", "事件", "到场", "报到")),
)

ALIASES = {"caller_key": "caller_phone"}


@lru_cache(maxsize=8192)  # the synonyms are normalised again for every header of every kind tried
def norm(header: str) -> str:
    """Header as compared: NFKC, lower case, no spaces, punctuation or bracket characters."""
    return _PUNCT.sub("", unicodedata.normalize("NFKC", str(header)).lower())


def targets(kind: str) -> list[str]:
    """The columns a header of this kind may map to (canonical plus virtual source fields)."""
    return list(kinds.get(kind).synonyms)


def target_label(kind: str, target: str) -> str:
    spec = kinds.get(kind)
    return kinds.VIRTUAL_LABELS.get(target) or label(spec.table, target)


def score_header(header: str, kind: str) -> list[tuple[str, float]]:
    """Candidate targets for one header, best first, with a score in (0, 1]."""
    spec = kinds.get(kind)
    h = norm(header)
    if not h:
        return []
    scores: dict[str, float] = {}
    for target, syns in spec.synonyms.items():
        if header.strip() == target:
            scores[target] = 1.01
            continue
        if h in {norm(s) for s in syns if s != target}:
            scores[target] = 1.0
            continue
        best = 0.0
        for kw in spec.keywords.get(target, ()) + tuple(s for s in syns if len(norm(s)) >= 3 and not s.isascii()):
            k = norm(kw)
            if k and k in h:
                best = max(best, 0.5 + 0.4 * len(k) / len(h))
        if best:
            scores[target] = best
    if _TIME_SUFFIX.search(h):
        for target, hints in _TIME_HINTS:
            if target in spec.synonyms and any(x in h for x in hints):
                scores[target] = max(scores.get(target, 0.0), 0.75)
                break
    return sorted(scores.items(), key=lambda kv: -kv[1])


def suggest_mapping(headers: list[str], kind: str) -> dict[str, str]:
    """Source header -> target column; each target taken once, by the highest-scoring header."""
    candidates = [(score, -i, h, t) for i, h in enumerate(headers) for t, score in score_header(h, kind)]
    taken_h: set[str] = set()
    taken_t: set[str] = set()
    out: dict[str, str] = {}
    for score, _, h, t in sorted(candidates, reverse=True):
        if h in taken_h or t in taken_t:
            continue
        out[h] = t
        taken_h.add(h)
        taken_t.add(t)
    return {h: out[h] for h in headers if h in out}


def unmapped(headers: list[str], mapping: dict[str, str]) -> list[str]:
    """Headers that feed no column (ignored on load)."""
    return [h for h in headers if h not in mapping]


def read_mapping_file(path: str | Path) -> dict[str, str]:
    """A JSON or TOML file {"源表头": "canonical_column"}."""
    p = Path(path)
    text = p.read_text(encoding="utf-8-sig")
    try:
        data = tomllib.loads(text) if p.suffix.lower() == ".toml" else json.loads(text)
    except (ValueError, tomllib.TOMLDecodeError) as e:
        where = f"第 {e.lineno} 行附近" if isinstance(e, json.JSONDecodeError) else ""
        raise ValueError(f"映射文件 {p} {where}格式有误，无法解析。格式示例（JSON）：{{\"源表头\": \"order_id\"}}") from None
    if not isinstance(data, dict) or not all(isinstance(v, str) for v in data.values()):
        raise ValueError(f"映射文件 {p} 应为 {{\"源表头\": \"标准列名\"}} 形式的对象")
    return {str(k): v for k, v in data.items()}


def resolve(headers: list[str], kind: str, overrides: dict[str, str] | None = None) -> dict[str, str]:
    """The mapping used for a load: suggestions, then explicit overrides win (a target claimed by an
    override is dropped from the suggested header that had it). A value of "" or null ignores a header."""
    valid = set(targets(kind))
    overrides = {h: ALIASES.get(t, t) if t else "" for h, t in (overrides or {}).items()}
    bad = {t for t in overrides.values() if t and t not in valid}
    if bad:
        raise ValueError(f"映射文件中的目标列 {'、'.join(sorted(bad))} 不是“{kind}”的标准列；可用：{'、'.join(sorted(valid))}")
    missing = [h for h in overrides if h not in headers]
    if missing:
        raise ValueError(f"映射文件中的表头 {'、'.join(missing)} 在文件中不存在；文件表头：{'、'.join(headers)}")
    mapping = suggest_mapping(headers, kind)
    claimed = {t for t in overrides.values() if t}
    mapping = {h: t for h, t in mapping.items() if t not in claimed and h not in overrides}
    mapping.update({h: t for h, t in overrides.items() if t})
    return {h: mapping[h] for h in headers if h in mapping}
