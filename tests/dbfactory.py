"""Build small canonical databases for page and analytics tests."""
from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import polars as pl

from etl.reference import seed_areas
from core.schema import WORK_ORDER_COLUMNS
from etl.store import writing


def orders_frame(rows: list[dict]) -> pl.DataFrame:
    """Canonical work_orders rows; missing columns are NULL (redispatch_count 0, is_invalid false)."""
    frame = pl.DataFrame(rows, infer_schema_length=None)
    defaults = {"redispatch_count": 0, "is_invalid": False}
    return frame.with_columns(
        [pl.lit(defaults.get(c)).alias(c) for c in WORK_ORDER_COLUMNS if c not in frame.columns]
    )


def write_orders(path: Path, frame: pl.DataFrame) -> Path:
    """A database holding `frame`; its `tokens` column, if any, becomes the token index."""
    with writing(path) as con:
        seed_areas(con)
        con.register("_orders", frame.drop("tokens", strict=False).to_arrow())
        con.execute("INSERT INTO work_orders BY NAME SELECT * FROM _orders")
        if "tokens" in frame.columns:
            con.register("_tokens", frame.select("order_id", "tokens").drop_nulls("tokens").to_arrow())
            con.execute("INSERT INTO order_tokens BY NAME SELECT * FROM _tokens")
        con.execute(
            "INSERT INTO loads (load_id, source_file, kind, rows_read, rows_inserted, rows_updated, rows_unchanged,"
            " rows_quarantined, started_at, finished_at, status, message)"
            " VALUES ('test', 'fixture', 'work_orders', ?, ?, 0, 0, 0, now(), now(), 'ok', '测试数据')",
            [frame.height, frame.height],
        )
    return path


def sample_orders(n_per_cell: int = 3) -> pl.DataFrame:
    """Two months × three districts with known ratings and timings."""
    rows = []
    districts = [("朝阳区", "望京街道"), ("海淀区", "中关村街道"), ("延庆区", "儒林街道")]
    ratings = [("解决", "满意"), ("部分解决", "基本满意"), ("未解决", "不满意"), (None, None)]
    i = 0
    for month in (9, 10):
        for d_idx, (district, street) in enumerate(districts):
            for k in range(n_per_cell * (d_idx + 1)):
                received = datetime(2026, month, 1 + k % 27, 9 + k % 8)
                resolution, satisfaction = ratings[(i + d_idx) % len(ratings)]
                rows.append({
                    "order_id": f"T{i:05d}", "received_at": received,
                    "dispatched_at": received + timedelta(hours=1),
                    "responded_at": received + timedelta(hours=2 if k % 3 else 30),
                    "closed_at": received + timedelta(days=2 if k % 2 else 9),
                    "district": district, "street": street,
                    "category_l1": ["住房", "城乡建设", "交通管理"][k % 3],
                    "content": f"来电人反映{street}小区问题{k}", "status": "已办结",
                    "resolution": resolution, "satisfaction": satisfaction, "dept": "区住房城乡建设委",
                })
                i += 1
    return orders_frame(rows)
