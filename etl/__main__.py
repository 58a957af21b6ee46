"""`python -m etl load PATH... [--db DB] [--kind K] [--mapping FILE] [--json]`, `python -m etl tokens`,
`python -m etl hot-issues`, `python -m etl outlook`, `python -m etl demo`, `python -m etl lake DIR`."""
from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable
from typing import Any
from datetime import date

from etl import kinds, store

STAGES = ("read", "transform", "write")
STAGE_NAMES = {"read": "读取", "transform": "转换与校验", "write": "写入", "tokenize": "分词",
               "hot": "热点问题预计算", "outlook": "预警与预测预计算", "generate": "生成工单", "cases": "生成吹哨案件", "done": "完成"}


def _bar(label: str) -> tuple[Callable[[str, float], None], Callable[[], None]]:
    """A tqdm bar on stderr over the load stages; (progress callback, close)."""
    from tqdm import tqdm

    bar = tqdm(total=100, desc=label, file=sys.stderr, unit="%", leave=True,
               bar_format="{desc} {percentage:3.0f}%|{bar}| {postfix}")

    def progress(stage: str, fraction: float) -> None:
        # Load stages share one bar; other callers' stages (the demo builder) each fill it afresh.
        done = int(100 * (STAGES.index(stage) + fraction) / len(STAGES)) if stage in STAGES else int(100 * fraction)
        bar.set_postfix_str(STAGE_NAMES.get(stage, stage))
        bar.n = max(0, min(100, done))
        bar.refresh()

    return progress, bar.close


def _load(args: argparse.Namespace) -> int:
    from etl.load import LoadError, load_file
    from etl.mapping import read_mapping_file

    try:
        mapping = read_mapping_file(args.mapping) if args.mapping else None
    except (OSError, ValueError) as e:
        print(f"映射文件 {args.mapping} 无法读取：{e}" if isinstance(e, ValueError) else
              f"映射文件 {args.mapping} 无法打开，请检查路径。", file=sys.stderr)
        return 2
    db = store.db_path(args.db)
    failed = 0
    if args.kind == "work_orders" and not args.no_hot_issues:
        from etl.hot import pending

        # The after-load step clusters only the months this load makes pending: months left pending by
        # older loads (minutes each) wait for `python -m etl hot-issues`.
        args.pending_before = set(pending(db))
    for path in args.paths:
        progress, close = (None, lambda: None) if args.json else _bar(path)
        try:
            # The file is named as the user typed it; one bad file never stops the ones after it.
            result = load_file(path, db, kind=args.kind, mapping=mapping, progress=progress, encoding=args.encoding,
                               source_name=path)
        except LoadError as e:
            close()
            failed += 1
            print(f"导入失败：{e}", file=sys.stderr)
            if args.json:
                print(json.dumps({"source_file": path, "kind": args.kind, "status": "refused", "message": str(e)},
                                 ensure_ascii=False))
            continue
        except KeyboardInterrupt:
            close()
            print(f"导入已中断：{path} 未写入，数据库保持原样。", file=sys.stderr)
            return 130
        close()
        if args.json:
            print(json.dumps(result.as_dict(), ensure_ascii=False, default=str))
        else:
            print(f"{path}（{result.encoding}）→ {db}：{result.message}")
            if result.unmapped:
                print(f"  未使用的表头：{'、'.join(result.unmapped)}")
    if args.kind == "work_orders" and len(args.paths) > failed:
        code = _tokens(args, db) or (0 if args.no_hot_issues else _hot(args, db)) or _outlook(args, db)
        if code:
            return code
    lake = args.lake or os.environ.get("WHISTLE_LAKE")
    if lake and len(args.paths) > failed:
        code = _lake(argparse.Namespace(dir=lake, db=str(db), json=args.json))
        if code:
            return code
    return 1 if failed else 0


def _step(args: argparse.Namespace, bar: str, fill: Callable[[Callable | None], Any], step: str,
          stopped: str, failed: str, done: Callable[[Any], str | None]) -> int:
    """One after-load step (token index, big-month hot issues) as a command: a progress bar (or a JSON line),
    and in Chinese what was done, or what stopped it and what to do."""
    progress, close = (None, lambda: None) if args.json else _bar(bar)
    try:
        result = fill(progress)
    except KeyboardInterrupt:
        close()
        print(stopped, file=sys.stderr)
        return 130
    except Exception as e:
        close()
        print(failed.format(why=_failure(e)), file=sys.stderr)
        return 1
    close()
    if args.json:
        print(json.dumps({"step": step, **result.as_dict()}, ensure_ascii=False))
    elif said := done(result):
        print(said)
    return 0


def _tokens(args: argparse.Namespace, db=None) -> int:
    """Build the token index for every order that has none (after the loads, or on its own)."""
    from etl.tokens import fill

    db = db or store.db_path(args.db)
    return _step(args, "分词索引", lambda progress: fill(db, progress=progress), "tokens",
                 "分词已中断：工单已导入，分词索引保持原样；运行 python -m etl tokens 可补全。",
                 "分词索引未能建立（{why}）：工单已导入，各页面照常显示（用到词语的页面会临时分词）；"
                 "稍后运行 python -m etl tokens 可补全，如仍失败请把这段提示交给系统管理员。",
                 lambda r: f"分词索引：{r.rows_tokenized} 条工单已分词，用时 {r.seconds:.1f} 秒。" if r.rows_tokenized else None)


def _month(text: str) -> date:
    try:
        return date.fromisoformat(f"{text[:7]}-01")
    except ValueError:
        raise argparse.ArgumentTypeError(f"月份应写作 2024-10 这样的格式，收到“{text}”") from None


def _failure(error: Exception) -> str:
    """What stopped an after-load step, in a line an administrator can act on (the month is named when known)."""
    text = str(error)
    month, _, detail = text.partition(": ") if text[:4].isdigit() and text[4:5] == "-" else ("", "", text)
    where = f"{month} 月份，" if month else ""
    if "Out of Memory" in detail:
        return f"{where}内存不足：可在 settings.toml 的 [duckdb] 中调大 memory_limit，或关闭其他占用内存的程序后重试"
    if "Could not set lock" in detail or "Conflicting lock" in detail:
        return f"{where}数据库文件正被另一个程序写入（例如正在导入），请等它结束后重试"
    last = detail.strip().splitlines()[-1] if detail.strip() else type(error).__name__
    return f"{where}原因：{last[:200]}"


def _hot(args: argparse.Namespace, db=None) -> int:
    """Cluster the big months whose stored hot issues are missing or stale (after the loads, or on its own)."""
    from etl.hot import fill

    db = db or store.db_path(args.db)
    months = getattr(args, "month", None)
    if hasattr(args, "pending_before"):
        from etl.hot import pending

        waiting = set(pending(db))
        months = sorted(waiting - args.pending_before)
        if older := sorted(waiting & args.pending_before):
            print(f"另有 {len(older)} 个月（{older[0]:%Y-%m} 起）的热点问题尚未预先计算，页面会临时计算；"
                  "运行 python -m etl hot-issues 可补上（每月约数分钟）。", file=sys.stderr)
    return _step(args, "热点问题", lambda progress: fill(db, progress=progress, months=months),
                 "hot-issues", "热点问题预计算已中断：已导入的数据不受影响，页面会临时计算；运行 python -m etl hot-issues 可补全。",
                 "热点问题预计算未能完成（{why}）：已导入的数据不受影响，页面会临时计算；"
                 "稍后运行 python -m etl hot-issues 可补全，如仍失败请把这段提示交给系统管理员。",
                 lambda r: f"热点问题预计算：{'、'.join(r.months)} 共 {len(r.months)} 个月，用时 {r.seconds:.1f} 秒。"
                 if r.months else None)


def _outlook(args: argparse.Namespace, db=None) -> int:
    """Store the city's 预警与预测 for the data as published now (after the loads, or on its own)."""
    from etl.outlook import fill

    db = db or store.db_path(args.db)
    return _step(args, "预警与预测", lambda progress: fill(db, progress=progress), "outlook",
                 "预警与预测预计算已中断：已导入的数据不受影响，页面会临时计算；运行 python -m etl outlook 可补上。",
                 "预警与预测预计算未能完成（{why}）：已导入的数据不受影响，页面会临时计算；"
                 "稍后运行 python -m etl outlook 可补上，如仍失败请把这段提示交给系统管理员。",
                 lambda r: f"预警与预测预计算：用时 {r.seconds:.1f} 秒。" if r.stored else None)


def _lake(args: argparse.Namespace) -> int:
    """Bring the Parquet lake up to date (only partitions whose rows changed are rewritten)."""
    from etl.lake import export

    db = store.db_path(args.db)
    if not db.exists():
        print(f"找不到数据库 {db}：请先导入数据（python -m etl load）或生成演示数据（python -m etl demo）。", file=sys.stderr)
        return 2
    progress, close = (None, lambda: None) if args.json else _bar("数据湖")
    try:
        result = export(db, args.dir, progress=progress)
    except (OSError, ValueError) as e:
        close()
        print(f"数据湖写入失败：{e}", file=sys.stderr)
        return 1
    close()
    if args.json:
        print(json.dumps({"step": "lake", **result}, ensure_ascii=False))
    else:
        print(f"数据湖 {result['lake']}：写入 {result['written']} 个分区，未变 {result['kept']} 个，删除 {result['removed']} 个。")
    return 0


def _demo(args: argparse.Namespace) -> int:
    import etl.demo

    progress, close = _bar("demo")
    try:
        etl.demo.build_demo(store.db_path(args.db), orders=args.orders, seed=args.seed,
                            progress=progress)
    finally:
        close()
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m etl", description="导入 12345 工单等数据")
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("load", help="导入 CSV / TSV / XLSX 文件")
    p.add_argument("paths", nargs="+", metavar="PATH")
    p.add_argument("--db", default=None, help="数据库文件（默认 data/hotline.duckdb，或环境变量 HOTLINE_DB）")
    p.add_argument("--kind", default="work_orders", choices=list(kinds.KINDS))
    p.add_argument("--mapping", default=None, help="表头映射文件（JSON 或 TOML）：{\"源表头\": \"标准列名\"}")
    p.add_argument("--encoding", default=None,
                   help="文件编码（如 utf-8、gb18030）；默认自动识别 UTF-8、UTF-8 BOM、GBK、GB18030")
    p.add_argument("--json", action="store_true", help="每个文件输出一行 JSON 摘要，不显示进度条")
    p.add_argument("--lake", default=None, help="导入后更新此目录下的 Parquet 数据湖（或设环境变量 WHISTLE_LAKE）")
    p.add_argument("--no-hot-issues", action="store_true",
                   help="导入后不预先计算大数据量月份的热点问题（每月约数分钟；稍后运行 python -m etl hot-issues 补上）")
    p.set_defaults(func=_load)
    t = sub.add_parser("tokens", help="为尚未分词的工单补全分词索引（导入后会自动进行）")
    t.add_argument("--db", default=None)
    t.add_argument("--json", action="store_true")
    t.set_defaults(func=_tokens)
    h = sub.add_parser("hot-issues", help="为工单量大的月份预先计算热点问题与重复诉求（导入后会自动进行）")
    h.add_argument("--db", default=None)
    h.add_argument("--month", action="append", type=_month, help="只计算这些月份（如 2024-10，可重复）；默认所有待计算的月份")
    h.add_argument("--json", action="store_true")
    h.set_defaults(func=_hot)
    o = sub.add_parser("outlook", help="预先计算全市的预警与预测（导入工单后会自动进行）")
    o.add_argument("--db", default=None)
    o.add_argument("--json", action="store_true")
    o.set_defaults(func=_outlook)
    d = sub.add_parser("demo", help="生成演示数据库")
    d.add_argument("--db", default=None)
    d.add_argument("--orders", type=int, default=360_000, help="三年的工单总数")
    d.add_argument("--seed", type=int, default=12345)
    d.set_defaults(func=_demo)
    lk = sub.add_parser("lake", help="把各表写成 Parquet 数据湖（工单按月 Hive 分区，增量更新）")
    lk.add_argument("dir", metavar="DIR")
    lk.add_argument("--db", default=None)
    lk.add_argument("--json", action="store_true")
    lk.set_defaults(func=_lake)
    args = parser.parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
