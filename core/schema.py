"""The canonical tables of DATA.md, as DuckDB DDL. Every page and analytics function reads these."""
from __future__ import annotations

import duckdb

from core import summary

# A caller key is 16 hex characters of an HMAC with its digits spelled as letters (a–f stay, 0–9 → g–p): a scan
# of the data for phone numbers cannot mistake a key for one (etl.pii writes them; create_all upgrades old keys).
CALLER_KEY_DIGITS = ("0123456789", "ghijklmnop")

# Column lists are the single source for DDL, the loaders and the UI's Chinese labels.
WORK_ORDER_COLUMNS: dict[str, tuple[str, str]] = {
    # Unique, enforced by the loader (in-file duplicates quarantined, re-loads diffed): an index would cost
    # a third of the insert time and 40% of the file (bench/RESULTS-load.md).
    "order_id": ("VARCHAR NOT NULL", "工单编号"),
    "received_at": ("TIMESTAMP NOT NULL", "受理时间"),
    "channel": ("VARCHAR", "来源渠道"),
    "request_type": ("VARCHAR", "诉求类型"),
    "category_l1": ("VARCHAR", "一级分类"),
    "category_l2": ("VARCHAR", "二级分类"),
    "category_l3": ("VARCHAR", "三级分类"),
    # Free text compresses far better with zstd than with the default dictionary/FSST, and faster: on
    # 1M orders the file is 60 MB instead of 103 and the insert a quarter quicker (bench/RESULTS-load.md).
    "content": ("VARCHAR USING COMPRESSION zstd", "诉求内容"),
    "district": ("VARCHAR", "区"),
    "street": ("VARCHAR", "街道/乡镇"),
    "community": ("VARCHAR", "社区/村"),
    "address": ("VARCHAR", "地址"),
    "lon": ("DOUBLE", "经度"),
    "lat": ("DOUBLE", "纬度"),
    "caller_key": ("VARCHAR", "来电人（加盐哈希）"),
    "dept": ("VARCHAR", "承办单位"),
    "dispatched_at": ("TIMESTAMP", "派单时间"),
    "responded_at": ("TIMESTAMP", "响应时间"),
    "due_at": ("TIMESTAMP", "办理时限"),
    "closed_at": ("TIMESTAMP", "办结时间"),
    "status": ("VARCHAR", "状态"),
    "redispatch_count": ("INTEGER NOT NULL DEFAULT 0", "退单/改派次数"),
    "resolution": ("VARCHAR", "是否解决"),
    "satisfaction": ("VARCHAR", "是否满意"),
    # Beyond DATA.md: flags and counts real exports carry that the analytics use.
    "is_invalid": ("BOOLEAN NOT NULL DEFAULT false", "无效工单"),
    "tags": ("VARCHAR", "标签"),
    "likes": ("INTEGER", "点赞数"),
    # Values the loader found implausible (settings [plausibility], action "flag"): what they were and why;
    # the values themselves are left empty so that no rate, map or score uses them.
    "implausible": ("VARCHAR", "存疑值"),
    "source_file": ("VARCHAR", "来源文件"),
    "load_id": ("VARCHAR", "导入批次"),
}

# The token index: jieba tokens of each order's content (core.segment.segment), built by etl.tokens right
# after the orders are published. An order without a row here is waiting to be tokenised.
ORDER_TOKEN_COLUMNS: dict[str, tuple[str, str]] = {
    "order_id": ("VARCHAR NOT NULL", "工单编号"),
    # The month of the order's received_at: a read of one window joins only that window's row groups of the
    # index instead of every order's (etl.store.writing fills it where a writer left it empty).
    "month": ("DATE", "受理月份"),
    "tokens": ("VARCHAR[] NOT NULL", "分词"),
}

# Suggested 分类 and 承办部门 (analytics/classify.py), kept apart from the office's own labels: source
# "history" re-suggests every loaded order from its text (派单质量), "import" fills orders an upload left
# blank; `applied` marks suggestions an analyst chose to write into work_orders.
ORDER_SUGGESTION_COLUMNS: dict[str, tuple[str, str]] = {
    "order_id": ("VARCHAR NOT NULL", "工单编号"),
    # The order's month, as in order_tokens: 派单质量 joins only its window's suggestions (etl.store.writing
    # fills it where a writer left it empty).
    "month": ("DATE", "受理月份"),
    "source": ("VARCHAR NOT NULL", "建议来源"),
    "model": ("VARCHAR", "模型（学习自导入批次）"),
    "category_l1": ("VARCHAR", "建议一级分类"),
    "category_l1_conf": ("DOUBLE", "一级分类置信度"),
    "category_l2": ("VARCHAR", "建议二级分类"),
    "category_l2_conf": ("DOUBLE", "二级分类置信度"),
    "category_l3": ("VARCHAR", "建议三级分类"),
    "category_l3_conf": ("DOUBLE", "三级分类置信度"),
    "dept": ("VARCHAR", "建议承办部门"),
    "dept_conf": ("DOUBLE", "承办部门置信度"),
    "words": ("VARCHAR", "依据词"),
    "reason": ("VARCHAR", "未给出建议的原因"),
    "applied": ("BOOLEAN NOT NULL DEFAULT false", "已填入工单"),
}

CASE_COLUMNS: dict[str, tuple[str, str]] = {
    "case_id": ("VARCHAR PRIMARY KEY", "案件编号"),
    "district": ("VARCHAR", "区"),
    "street": ("VARCHAR", "街道/乡镇"),
    "community": ("VARCHAR", "社区/村"),
    "opened_at": ("TIMESTAMP NOT NULL", "发起时间"),
    "category": ("VARCHAR", "问题类别"),
    "title": ("VARCHAR", "案件标题"),
    "description": ("VARCHAR", "案件描述"),
    "whistled_by": ("VARCHAR", "吹哨主体"),
    "closed_at": ("TIMESTAMP", "办结时间"),
    "status": ("VARCHAR", "状态"),
    "related_order_id": ("VARCHAR", "关联工单"),
    "implausible": ("VARCHAR", "存疑值"),
    "source_file": ("VARCHAR", "来源文件"),
    "load_id": ("VARCHAR", "导入批次"),
}

CASE_EVENT_COLUMNS: dict[str, tuple[str, str]] = {
    "case_id": ("VARCHAR NOT NULL", "案件编号"),
    "dept": ("VARCHAR NOT NULL", "部门"),
    "event": ("VARCHAR NOT NULL", "事件"),
    "occurred_at": ("TIMESTAMP NOT NULL", "时间"),
    "note": ("VARCHAR", "备注"),
    "source_file": ("VARCHAR", "来源文件"),
    "load_id": ("VARCHAR", "导入批次"),
}

DEPT_RATING_COLUMNS: dict[str, tuple[str, str]] = {
    "period": ("DATE NOT NULL", "考核月份"),
    "district": ("VARCHAR", "区"),
    "street": ("VARCHAR NOT NULL", "街道/乡镇"),
    "dept": ("VARCHAR NOT NULL", "部门"),
    "score": ("DOUBLE NOT NULL", "评分"),
    "comment": ("VARCHAR", "评语"),
    "source_file": ("VARCHAR", "来源文件"),
    "load_id": ("VARCHAR", "导入批次"),
}

DEPT_DUTY_COLUMNS: dict[str, tuple[str, str]] = {
    "category_l1": ("VARCHAR NOT NULL", "一级分类"),
    "category_l2": ("VARCHAR", "二级分类"),
    "dept": ("VARCHAR NOT NULL", "责任部门"),
    "source_file": ("VARCHAR", "来源文件"),
    "load_id": ("VARCHAR", "导入批次"),
}

AREA_COLUMNS: dict[str, tuple[str, str]] = {
    "district": ("VARCHAR NOT NULL", "区"),
    "street": ("VARCHAR", "街道/乡镇"),
    "kind": ("VARCHAR", "类型"),
    "code_12": ("VARCHAR", "统计用区划代码"),
    "community": ("VARCHAR", "社区/村"),
    "population": ("BIGINT", "常住人口"),
    "population_source": ("VARCHAR", "人口来源"),
}

LOAD_COLUMNS: dict[str, tuple[str, str]] = {
    "load_id": ("VARCHAR PRIMARY KEY", "导入批次"),
    "source_file": ("VARCHAR", "来源文件"),
    "sha256": ("VARCHAR", "文件指纹"),
    "kind": ("VARCHAR", "数据类型"),
    "encoding": ("VARCHAR", "编码"),
    "mapping": ("VARCHAR", "表头映射(JSON)"),
    "rows_read": ("BIGINT", "读取行数"),
    "rows_inserted": ("BIGINT", "新增"),
    "rows_updated": ("BIGINT", "更新"),
    "rows_unchanged": ("BIGINT", "未变"),
    "rows_quarantined": ("BIGINT", "隔离"),
    "started_at": ("TIMESTAMP", "开始时间"),
    "finished_at": ("TIMESTAMP", "结束时间"),
    "status": ("VARCHAR", "状态"),
    "message": ("VARCHAR", "说明"),
}

QUARANTINE_COLUMNS: dict[str, tuple[str, str]] = {
    "load_id": ("VARCHAR NOT NULL", "导入批次"),
    "source_file": ("VARCHAR", "来源文件"),
    "line_no": ("BIGINT", "行号"),
    "reason": ("VARCHAR", "原因"),
    "raw": ("VARCHAR", "原始行(JSON)"),
}

AUDIT_COLUMNS: dict[str, tuple[str, str]] = {
    "logged_at": ("TIMESTAMP", "时间"),
    "actor": ("VARCHAR", "操作人"),
    "action": ("VARCHAR", "操作"),
    "detail": ("VARCHAR", "内容"),
    "load_id": ("VARCHAR", "导入批次"),
}

TABLES: dict[str, dict[str, tuple[str, str]]] = {
    "work_orders": WORK_ORDER_COLUMNS,
    "order_tokens": ORDER_TOKEN_COLUMNS,
    "order_suggestions": ORDER_SUGGESTION_COLUMNS,
    "cases": CASE_COLUMNS,
    "case_events": CASE_EVENT_COLUMNS,
    "dept_ratings": DEPT_RATING_COLUMNS,
    "dept_duties": DEPT_DUTY_COLUMNS,
    "areas": AREA_COLUMNS,
    "loads": LOAD_COLUMNS,
    "quarantine": QUARANTINE_COLUMNS,
    "audit_log": AUDIT_COLUMNS,        # who uploaded what (written with each load)
}

# Accepted values (DATA.md); contract tests and the loaders check against these.
CHANNELS = ("电话", "网络", "微信", "APP", "其他")
REQUEST_TYPES = ("投诉", "举报", "求助", "咨询", "建议", "表扬", "其他")
STATUSES = ("已受理", "办理中", "已办结", "退单", "延期", "其他")
RESOLUTIONS = ("解决", "部分解决", "未解决")
SATISFACTIONS = ("满意", "基本满意", "不满意")
CASE_EVENTS = ("呼叫", "响应", "到场", "办结", "未到")


def label(table: str, column: str) -> str:
    """The Chinese label the UI shows for a canonical column."""
    return TABLES[table].get(column, ("", column))[1]


def ddl(table: str) -> str:
    cols = ",\n  ".join(f"{name} {decl}" for name, (decl, _) in TABLES[table].items())
    return f"CREATE TABLE IF NOT EXISTS {table} (\n  {cols}\n)"


def create_all(con: duckdb.DuckDBPyConnection) -> None:
    """Create every canonical table that does not exist yet, upgrading an older layout (idempotent)."""
    for table in TABLES:
        con.execute(ddl(table))
    _move_tokens(con)
    if _hex_caller_keys(con):
        con.execute("UPDATE work_orders SET caller_key = translate(caller_key, ?, ?) WHERE caller_key IS NOT NULL",
                    list(CALLER_KEY_DIGITS))
    for table, column in missing_columns(con):
        con.execute(f"ALTER TABLE {table} ADD COLUMN {column} {TABLES[table][column][0]}")


def missing_columns(con: duckdb.DuckDBPyConnection, database: str | None = None) -> list[tuple[str, str]]:
    """Nullable columns added since a database was written (tables that exist, columns they lack)."""
    have = con.execute(
        "SELECT table_name, column_name FROM duckdb_columns() WHERE schema_name = 'main'"
        " AND database_name = coalesce(?, current_database())", [database]).fetchall()
    tables = {t for t, _ in have}
    return [(t, c) for t, cols in TABLES.items() if t in tables for c, (decl, _) in cols.items()
            if (t, c) not in set(have) and "NOT NULL" not in decl and "PRIMARY" not in decl]


def needs_upgrade(con: duckdb.DuckDBPyConnection, database: str | None = None) -> bool:
    """True for a database written by an older version (tokens still in work_orders, columns missing, no
    monthly summary, core.summary): its next write upgrades it."""
    return (_tokens_in_orders(con, database) or bool(missing_columns(con, database))
            or summary.missing(con, database) or _hex_caller_keys(con, database)
            or any(_without_month(con, table, database) for table in MONTHLY_BY_ORDER))


# Tables keyed by order that carry the order's month (so a window's read joins only that window's rows).
MONTHLY_BY_ORDER = ("order_tokens", "order_suggestions")


def _without_month(con: duckdb.DuckDBPyConnection, table: str, database: str | None = None) -> bool:
    name = f"{database}.main.{table}" if database else table
    try:
        return bool(con.execute(f"SELECT count(*) FROM (SELECT 1 FROM {name} WHERE month IS NULL LIMIT 1)").fetchall()[0][0])
    except duckdb.BinderException:   # written before the table had months: _missing_columns tells
        return False


def fill_order_months(con: duckdb.DuckDBPyConnection) -> None:
    """Give every token and suggestion row its order's month (rows written before the column existed, or by a
    writer that left it out)."""
    for table in MONTHLY_BY_ORDER:
        if not _without_month(con, table):
            continue
        # One month of orders at a time: one UPDATE joining every token row with its order ran out of memory at
        # 25 M orders under the 2 GB limit (an UPDATE's join does not spill).
        months = con.execute("SELECT DISTINCT date_trunc('month', received_at)::DATE FROM work_orders "
                             "WHERE received_at IS NOT NULL ORDER BY 1").fetchall()
        for (month,) in months:
            con.execute(f"UPDATE {table} t SET month = ? FROM work_orders w WHERE t.month IS NULL AND t.order_id = w.order_id"
                        " AND w.received_at >= ? AND w.received_at < ? + INTERVAL 1 MONTH", [month, month, month])


def _hex_caller_keys(con: duckdb.DuckDBPyConnection, database: str | None = None) -> bool:
    """Caller keys written before they were spelled in letters (one key tells: a hex key of 16 has a digit)."""
    table = f"{database}.main.work_orders" if database else "work_orders"
    if not con.execute("SELECT count(*) FROM duckdb_tables() WHERE table_name = 'work_orders'"
                       " AND database_name = coalesce(?, current_database())", [database]).fetchall()[0][0]:
        return False
    key = con.execute(f"SELECT caller_key FROM {table} WHERE caller_key IS NOT NULL LIMIT 1").fetchall()
    return bool(key) and any(c.isdigit() for c in key[0][0])


def _tokens_in_orders(con: duckdb.DuckDBPyConnection, database: str | None = None) -> bool:
    found = con.execute(
        "SELECT count(*) FROM duckdb_columns() WHERE table_name = 'work_orders' AND column_name = 'tokens'"
        " AND database_name = coalesce(?, current_database())", [database]).fetchall()[0][0]
    return bool(found)


def _move_tokens(con: duckdb.DuckDBPyConnection) -> None:
    if not _tokens_in_orders(con):
        return
    con.execute("INSERT INTO order_tokens (order_id, month, tokens) SELECT order_id, date_trunc('month', received_at)::DATE, "
                "tokens FROM work_orders WHERE tokens IS NOT NULL")
    # Rebuilt rather than altered: DuckDB does not alter a table that has an index.
    have = {c for (c,) in con.execute("SELECT column_name FROM duckdb_columns() WHERE table_name = 'work_orders'"
                                      " AND database_name = current_database()").fetchall()}
    cols = ", ".join(c for c in WORK_ORDER_COLUMNS if c in have)
    con.execute(f"CREATE TABLE _work_orders_new AS SELECT {cols} FROM work_orders")
    con.execute("DROP TABLE work_orders")
    con.execute(ddl("work_orders"))
    con.execute(f"INSERT INTO work_orders SELECT {cols} FROM _work_orders_new")
    con.execute("DROP TABLE _work_orders_new")
