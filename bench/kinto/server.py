"""Kinto 26.5.0 from PyPI, on its memory backend or on a throwaway PostgreSQL cluster, for bench.kinto.

Kinto lives in a virtualenv of its own (default `.venv-kinto` beside the repo's `.venv`, made on first use:
`pip install kinto[postgresql]==26.5.0`, about 15 s), never in brownout's: its pins are not ours. The cluster
is the sample's launcher (targets.sample.postgres, user and database `gateway`, trust auth on 127.0.0.1, a
free port) under a temp directory, stopped with the bench.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

from bench.support import REPO_ROOT, start_process, stop_process
from brownout.net.ports import free_port

KINTO = "kinto[postgresql]==26.5.0"
BACKENDS = ("memory", "postgresql")
DEFAULT_VENV = REPO_ROOT / ".venv-kinto"

# Basic auth (any user name and password is a user), every authenticated user may create buckets; warnings
# only in the log (Kinto logs a summary of every request at INFO).
CONFIG = """\
[server:main]
use = egg:waitress#main
host = 127.0.0.1
port = %(http_port)s

[app:main]
use = egg:kinto
kinto.storage_backend = kinto.core.storage.{backend}
kinto.storage_url = {url}
kinto.cache_backend = kinto.core.cache.{backend}
kinto.cache_url = {url}
kinto.permission_backend = kinto.core.permission.{backend}
kinto.permission_url = {url}
kinto.userid_hmac_secret = 7c1f0e2d9a4b45d8b1e36f1a2c9d0e4f
multiauth.policies = basicauth
kinto.bucket_create_principals = system.Authenticated

[loggers]
keys = root

[handlers]
keys = console

[formatters]
keys = plain

[logger_root]
level = WARN
handlers = console

[handler_console]
class = StreamHandler
args = (sys.stderr,)
formatter = plain

[formatter_plain]
format = %%(asctime)s %%(levelname)s %%(name)s %%(message)s
"""


def kinto_venv(venv: Path) -> Path:
    """The `kinto` command of `venv`, installing Kinto there first when it is not (yet) the wanted version."""
    kinto = venv / "bin" / "kinto"
    stamp = venv / ".installed"
    if kinto.is_file() and stamp.is_file() and stamp.read_text() == KINTO:
        return kinto
    print(f"installing {KINTO} into {venv}", flush=True)
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    pip = [str(venv / "bin" / "pip"), "install", "-q", "--disable-pip-version-check", KINTO]
    done = subprocess.run(pip, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(pip)}: exit {done.returncode}\n{done.stdout[-2000:]}{done.stderr[-2000:]}")
    stamp.write_text(KINTO)
    return kinto


def write_config(workdir: Path, backend: str, url: str) -> Path:
    config = workdir / "kinto.ini"
    config.write_text(CONFIG.format(backend=backend, url=url))
    return config


@contextmanager
def kinto_server(backend: str, workdir: Path, venv: Path = DEFAULT_VENV) -> Iterator[str]:
    """Kinto on `backend`, answering on the URL yielded; everything it started is stopped on the way out."""
    kinto = kinto_venv(venv)
    with ExitStack() as stack:
        url = ""
        if backend == "postgresql":
            from bench.bench_postgres import postgres  # psutil, requests: only when needed

            port, _ = stack.enter_context(postgres(workdir))
            url = f"postgresql://gateway@127.0.0.1:{port}/gateway"
        config = write_config(workdir, backend, url)
        if backend == "postgresql":
            subprocess.run([str(kinto), "migrate", "--ini", str(config)], check=True, capture_output=True)
        http_port = free_port()
        base = f"http://127.0.0.1:{http_port}"
        server = start_process(
            [str(kinto), "start", "--ini", str(config), "--port", str(http_port)], f"{base}/v1/",
            workdir / "kinto.log", timeout=60,
        )  # fmt: skip
        stack.callback(stop_process, server, 15.0)
        print(f"Kinto on {backend} at {base}" + (f" ({url})" if url else ""), flush=True)
        yield base
