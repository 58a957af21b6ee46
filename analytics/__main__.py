"""`python -m analytics <command> --db DB [--from] [--to] [--by] [--format table|csv|json]`."""
from __future__ import annotations

import argparse
import importlib
import json
import sys
from datetime import date

import polars as pl

from access.scope import restrict
from analytics import export
from analytics.filters import Scope
from core.store import connect_read, db_path

# command -> (module:function, help). Each function is run(con, args) -> pl.DataFrame.
COMMANDS: dict[str, tuple[str, str]] = {
    "overview": ("analytics.overview:run", "总览：工单量、三率与按时办结率（按月）"),
    "hotspots": ("analytics.hotspots:run_hotspots", "热点：区域×分类×月份的工单量、期望值、提升度与显著性"),
    "words": ("analytics.hotspots:run_words", "热词：各区域与时段的高频词及其相对基线的提升"),
    "hot-issues": ("analytics.hot_issues:run", "热点问题：同一地点同一具体问题的工单聚类"),
    "repeats": ("analytics.recurring:run_repeats", "重复诉求：同一来电人 30 天内就同一事项多次来电"),
    "topics": ("analytics.recurring:run_topics", "每月一题候选：按量、广度、持续性与难度排序"),
    "scores": ("analytics.scores:run", "考评：区、街乡、部门的三率、综合得分与排名"),
    "cases": ("analytics.cases:run", "吹哨报到：各部门被呼叫、到场与 30 分钟内到场比例"),
    "forecast": ("analytics.forecast:run_forecast", "预测：各单位×分类未来几个月的工单量、预测区间与回测误差"),
    "warnings": ("analytics.forecast:run_warnings", "预警：预测上升、季节提醒、近期上升与上升类型"),
    "suggest": ("suggestions:run_suggest", "智能分类与派单：为导出文件中的每条工单建议分类与承办部门（含置信度与依据词）"),
    "train": ("suggestions:run_train", "用已导入的历史工单重新训练分类与派单模型"),
}
# Arguments beyond the shared ones, per command.
EXTRA_ARGS: dict[str, list[tuple[tuple[str, ...], dict]]] = {
    "suggest": [(("file",), {"metavar": "FILE", "help": "工单导出文件（CSV / TSV / XLSX，表头映射同导入）"}),
                (("--mapping",), {"help": "表头映射文件（JSON 或 TOML）：{\"源表头\": \"标准列名\"}"}),
                (("--encoding",), {"help": "文件编码（如 utf-8、gb18030）；默认自动识别"})],
    **{name: [(("--horizon",), {"type": int, "choices": range(1, 13), "metavar": "1-12",
                                "help": "预测未来几个月（默认见 settings.toml）"})] for name in ("forecast", "warnings")},
}


def _date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"日期“{text}”格式不对，请写成 YYYY-MM-DD，例如 2024-01-31") from None


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m analytics", description="哨声 Whistle 分析命令")
    sub = p.add_subparsers(dest="command", required=True)
    for name, (_, help_text) in COMMANDS.items():
        c = sub.add_parser(name, help=help_text, description=help_text)
        c.add_argument("--db", help="数据库文件（默认 data/hotline.duckdb，或环境变量 HOTLINE_DB）")
        c.add_argument("--from", dest="date_from", type=_date, help="起始日期 YYYY-MM-DD（含）")
        c.add_argument("--to", dest="date_to", type=_date, help="截止日期 YYYY-MM-DD（含当天全天）")
        c.add_argument("--by", choices=["district", "street", "dept", "community"], help="统计单位")
        c.add_argument("--limit", type=int, help="最多输出多少行")
        c.add_argument("--format", choices=["table", "csv", "json"], default="table")
        who = c.add_mutually_exclusive_group()
        who.add_argument("--scope", help="只看一个区或街乡的数据，如 朝阳区 或 朝阳区/三里屯街道（排名也只在其中）")
        who.add_argument("--user", help="按该看板用户的权限范围输出（见 python -m access list）")
        for flags, options in EXTRA_ARGS.get(name, []):
            c.add_argument(*flags, **options)
    return p


def _scope(args: argparse.Namespace) -> Scope | None:
    """The area the output is limited to (--scope, or --user's); None when --user names no enabled user."""
    if args.user:
        from access import users

        user = users.get(args.user)
        return user.scope if user else None
    if args.scope:
        district, _, street = args.scope.partition("/")
        return Scope(district.strip() or None, street.strip() or None)
    return Scope()


def render(frame: pl.DataFrame, fmt: str) -> str:
    """table for people, csv for spreadsheets, json (an array of rows; rates as 0–1 fractions) for programs."""
    if fmt == "json":
        return json.dumps(frame.to_dicts(), ensure_ascii=False, default=str, indent=1)
    # csv and table cells cannot hold lists (order ids): they are joined with ';' there.
    frame = frame.with_columns(pl.col(c).list.join(";") for c, t in frame.schema.items()
                               if isinstance(t, pl.List) and t.inner == pl.String)
    if fmt == "csv":  # opened in a spreadsheet: no cell may run as a formula
        return export.cells(frame).write_csv()
    with pl.Config(tbl_rows=50, tbl_cols=20, fmt_str_lengths=40, tbl_width_chars=200):
        return str(frame)


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    path = db_path(args.db)
    if not path.exists():
        print(f"找不到数据库 {path}。请先运行 python -m etl demo 或 python -m etl load 导入数据。", file=sys.stderr)
        return 2
    module, func = COMMANDS[args.command][0].split(":")
    run = getattr(importlib.import_module(module), func)
    scope = _scope(args)
    if scope is None:
        print(f"没有启用的用户 {args.user}。python -m access list 列出全部用户。", file=sys.stderr)
        return 2
    con = restrict(connect_read(path), scope)
    try:
        frame = run(con, args)
    except (ValueError, OSError) as e:   # the commands' errors say what to do, in Chinese
        print(f"无法完成：{e}", file=sys.stderr)
        return 1
    finally:
        con.close()
    if args.limit:
        frame = frame.head(args.limit)
    text = render(frame, args.format)
    sys.stdout.write(text if text.endswith("\n") else text + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
