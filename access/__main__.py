"""`python -m access add|list|disable|enable|reset-password|unlock|audit`: manage the dashboard's users."""
from __future__ import annotations

import argparse
import getpass
import sys

import polars as pl

from access import users
from etl import reference


def _password(args: argparse.Namespace) -> str | None:
    """From stdin with --password-stdin (scripts), else asked twice without echo."""
    if args.password_stdin:
        return sys.stdin.readline().rstrip("\n")
    first = getpass.getpass("密码：")
    if getpass.getpass("再输入一次：") != first:
        raise users.AccessError("两次输入的密码不一致。")
    return first


def _area(district: str | None, street: str | None) -> tuple[str | None, str | None]:
    """Official names (朝阳 → 朝阳区), so the scope matches the loaded orders; other names are kept as given."""
    if district:
        district = reference.normalise_district(pl.Series([district])).item() or district
    if street:
        d, s = reference.normalise_street(pl.Series([district]), pl.Series([street]))
        street = s.item() or street
    return district, street


def _add(args: argparse.Namespace) -> int:
    district, street = _area(args.district, args.street)
    password = None if args.no_password else _password(args)
    user = users.add(args.name, password, args.role, district, street, args.email)
    print(f"已添加用户 {user.name}：{user.role}，范围 {user.scope.describe()}。"
          f"用户文件 {users.users_path()}；此后打开看板需要登录。")
    return 0


def _list(args: argparse.Namespace) -> int:
    rows = users.listing()
    if not rows:
        print(f"还没有用户（{users.users_path()}）：看板以单用户模式运行，只在本机 127.0.0.1 可访问。")
        return 0
    with pl.Config(tbl_rows=-1, tbl_width_chars=200, fmt_str_lengths=40, tbl_hide_dataframe_shape=True):
        print(pl.DataFrame(rows))
    return 0


def _disable(args: argparse.Namespace) -> int:
    users.set_disabled(args.name, True)
    print(f"已停用用户 {args.name}：无法再登录（已登录的会话在下一次操作时退出）。")
    return 0


def _enable(args: argparse.Namespace) -> int:
    users.set_disabled(args.name, False)
    print(f"已启用用户 {args.name}。")
    return 0


def _reset(args: argparse.Namespace) -> int:
    users.set_password(args.name, _password(args))
    print(f"已重设用户 {args.name} 的密码，并解除锁定。")
    return 0


def _unlock(args: argparse.Namespace) -> int:
    users.unlock(args.name)
    print(f"已解除用户 {args.name} 的锁定。")
    return 0


def _audit(args: argparse.Namespace) -> int:
    from etl.store import connect_read, db_path

    path = db_path(args.db)
    if not path.exists():
        print(f"找不到数据库 {path}。", file=sys.stderr)
        return 2
    con = connect_read(path)
    try:
        from analytics.quality import audit_log

        frame = audit_log(con, limit=args.limit)
    finally:
        con.close()
    with pl.Config(tbl_rows=-1, tbl_width_chars=200, fmt_str_lengths=60, tbl_hide_dataframe_shape=True):
        print(frame)
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m access", description="管理看板用户（角色、范围、密码）")
    sub = parser.add_subparsers(dest="command", required=True)
    a = sub.add_parser("add", help="添加用户")
    a.add_argument("name")
    a.add_argument("--role", required=True, choices=users.ROLES)
    a.add_argument("--district", help="限定到一个区（如 朝阳区）；不填为全市")
    a.add_argument("--street", help="限定到该区的一个街道/乡镇（如 三里屯街道）")
    a.add_argument("--email", help="统一身份认证（OIDC）登录所用的邮箱")
    a.add_argument("--no-password", action="store_true", help="不设密码，只能通过统一身份认证登录（需 --email）")
    a.add_argument("--password-stdin", action="store_true", help="从标准输入读取密码（一行），用于脚本")
    a.set_defaults(func=_add)
    sub.add_parser("list", help="列出用户").set_defaults(func=_list)
    for name, func, text in (("disable", _disable, "停用用户"), ("enable", _enable, "重新启用用户"),
                             ("unlock", _unlock, "解除因密码错误造成的锁定")):
        p = sub.add_parser(name, help=text)
        p.add_argument("name")
        p.set_defaults(func=func)
    r = sub.add_parser("reset-password", help="重设密码（同时解除锁定）")
    r.add_argument("name")
    r.add_argument("--password-stdin", action="store_true", help="从标准输入读取密码（一行），用于脚本")
    r.set_defaults(func=_reset)
    au = sub.add_parser("audit", help="显示谁在何时导入了什么（审计日志）")
    au.add_argument("--db", help="数据库文件（默认 data/hotline.duckdb，或环境变量 HOTLINE_DB）")
    au.add_argument("--limit", type=int, default=200)
    au.set_defaults(func=_audit)
    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except users.AccessError as e:
        print(str(e), file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
