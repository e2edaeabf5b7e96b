"""Run a throwaway PostgreSQL server for the sample stack: `python -m targets.sample.postgres --port P --data-dir D`.

Uses Debian's `postgresql` package (binaries in /usr/lib/postgresql/<version>/bin, or --bindir). On the first
start it runs initdb into D/pgdata (user `gateway`, trust auth on loopback, database `gateway`); every start
then *becomes* the postmaster (exec), so the stack's signals reach PostgreSQL itself: SIGINT is its fast
shutdown, SIGSTOP freezes it.

PostgreSQL refuses to run as root. Started as root (CI, containers), this launcher runs initdb and the server
as the unprivileged `postgres` account the package creates (or --user): it chowns D to it, drops its groups,
gid and uid, and re-arms the die-with-parent signal, which the kernel clears when the uid changes. If that
user cannot reach D (a run directory under /root, say), the cluster goes to a private directory under the
system temp directory and D/pgdata becomes a symlink to it.

Durability matches the SQLite store's synchronous=NORMAL: fsync=off, synchronous_commit=on. A commit is
written to the kernel before it is acknowledged, so it survives PostgreSQL being killed (SIGKILL, restart),
not a power loss, which this testbed does not simulate.

Exit code 2 with the package to install when PostgreSQL is not there.
"""

from __future__ import annotations

import argparse
import ctypes
import os
import pwd
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

PACKAGE_HINT = "PostgreSQL is not installed: install Debian's package `postgresql` (apt-get install -y postgresql)"
DATABASE = "gateway"
USER = "gateway"
_PR_SET_PDEATHSIG = 1

# Small and quick: a testbed server next to a load generator on a shared machine.
SERVER_SETTINGS = {
    "listen_addresses": "127.0.0.1",
    "unix_socket_directories": "",  # TCP on loopback only: no socket file, no /var/run/postgresql needed
    "max_connections": "60",
    "shared_buffers": "32MB",
    "fsync": "off",
    "synchronous_commit": "on",
    "full_page_writes": "off",
    "log_min_messages": "warning",
    "log_connections": "off",
}


class LaunchError(Exception):
    def __init__(self, message: str, code: int = 1) -> None:
        super().__init__(message)
        self.code = code


def find_bindir(explicit: str | None = None) -> Path:
    """The newest installed PostgreSQL's bin directory (with initdb and postgres), or LaunchError(code 2)."""
    candidates = [Path(explicit)] if explicit else sorted(
        Path("/usr/lib/postgresql").glob("*/bin"), key=lambda p: _version_key(p.parent.name), reverse=True
    )
    for bindir in candidates:
        if (bindir / "initdb").is_file() and (bindir / "postgres").is_file():
            return bindir
    where = explicit or "/usr/lib/postgresql/*/bin"
    raise LaunchError(f"{PACKAGE_HINT}; no initdb and postgres in {where}", code=2)


def _version_key(name: str) -> tuple[int, ...]:
    return tuple(int(part) for part in name.split(".") if part.isdigit())


def _account(name: str | None) -> pwd.struct_passwd | None:
    """Who runs PostgreSQL: nobody else when we are not root; the given or `postgres` account when we are."""
    if os.geteuid() != 0:
        return None
    wanted = name or "postgres"
    try:
        return pwd.getpwnam(wanted)
    except KeyError:
        raise LaunchError(
            f"running as root, and PostgreSQL refuses to: no user {wanted!r} to run it as "
            f"(the postgresql package creates `postgres`; or pass --user)",
            code=2,
        ) from None


def _become(account: pwd.struct_passwd | None) -> None:
    """In the child (or before exec): drop root for `account`, then ask again to die with our parent."""
    if account is not None:
        parent = os.getppid()
        os.setgroups([])
        os.setgid(account.pw_gid)
        os.setuid(account.pw_uid)
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
        if os.getppid() != parent:
            os._exit(125)


def _can_reach(path: Path, account: pwd.struct_passwd | None) -> bool:
    if account is None:
        return True
    check = subprocess.run(
        ["test", "-x", str(path)], preexec_fn=lambda: _become(account), check=False, stdin=subprocess.DEVNULL
    )
    return check.returncode == 0


def cluster_dir(data_dir: Path, account: pwd.struct_passwd | None) -> Path:
    """Where the cluster lives: data_dir/pgdata, or a private temp directory it links to (see the top)."""
    data_dir.mkdir(parents=True, exist_ok=True)
    pgdata = data_dir / "pgdata"
    if account is not None:
        os.chown(data_dir, account.pw_uid, account.pw_gid)
        if not pgdata.exists() and not _can_reach(data_dir, account):
            private = Path(tempfile.mkdtemp(prefix="brownout-pgdata-"))
            os.chown(private, account.pw_uid, account.pw_gid)
            pgdata.symlink_to(private)
            print(f"{data_dir} is out of reach for {account.pw_name}: the cluster lives in {private}", flush=True)
    return pgdata.resolve() if pgdata.is_symlink() else pgdata


def initdb(bindir: Path, pgdata: Path, account: pwd.struct_passwd | None) -> None:
    if (pgdata / "PG_VERSION").exists():
        return
    argv = [
        str(bindir / "initdb"), "-D", str(pgdata), "-U", USER, "--auth=trust", "-E", "UTF8",
        "--locale=C", "--no-sync", "--no-instructions",
    ]  # fmt: skip
    result = subprocess.run(
        argv, preexec_fn=lambda: _become(account), stdin=subprocess.DEVNULL, capture_output=True, text=True,
        check=False, env=_child_env(account),
    )  # fmt: skip
    if result.returncode != 0:
        raise LaunchError(f"initdb failed ({result.returncode}):\n{result.stdout}{result.stderr}")
    # The database the gateway connects to: created in single-user mode, so no server is needed yet.
    create = subprocess.run(
        [str(bindir / "postgres"), "--single", "-D", str(pgdata), "postgres"],
        input=f"CREATE DATABASE {DATABASE} OWNER {USER};\n", preexec_fn=lambda: _become(account),
        capture_output=True, text=True, check=False, env=_child_env(account),
    )  # fmt: skip
    if create.returncode != 0:
        raise LaunchError(f"creating database {DATABASE} failed:\n{create.stdout}{create.stderr}")
    print(f"initdb: new cluster in {pgdata} (user {USER}, database {DATABASE})", flush=True)


def _child_env(account: pwd.struct_passwd | None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
    env["LC_ALL"] = "C"
    if account is not None:
        env |= {"HOME": account.pw_dir, "USER": account.pw_name, "LOGNAME": account.pw_name}
    return env


def server_argv(bindir: Path, pgdata: Path, port: int) -> list[str]:
    argv = [str(bindir / "postgres"), "-D", str(pgdata), "-p", str(port)]
    for name, value in SERVER_SETTINGS.items():
        argv += ["-c", f"{name}={value}"]
    return argv


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m targets.sample.postgres", description=__doc__.split("\n\n")[0])
    parser.add_argument("--port", type=int, required=True, help="TCP port on 127.0.0.1")
    parser.add_argument("--data-dir", type=Path, required=True, help="the cluster goes to DATA_DIR/pgdata")
    parser.add_argument(
        "--bindir", default=os.environ.get("BROWNOUT_PG_BINDIR") or None,
        help="PostgreSQL's bin directory (default: env BROWNOUT_PG_BINDIR, else the newest installed)",
    )  # fmt: skip
    parser.add_argument("--user", default=None, help="account to run as when started as root (default: postgres)")
    args = parser.parse_args(argv)
    try:
        bindir = find_bindir(args.bindir)
        account = _account(args.user)
        pgdata = cluster_dir(args.data_dir.resolve(), account)
        initdb(bindir, pgdata, account)
    except LaunchError as exc:
        print(f"postgres launcher: {exc}", file=sys.stderr, flush=True)
        return exc.code
    command = server_argv(bindir, pgdata, args.port)
    print(f"starting {' '.join(command)}", flush=True)
    env = _child_env(account)
    _become(account)
    os.execve(command[0], command, env)
    return 1  # not reached


if __name__ == "__main__":
    raise SystemExit(main())
