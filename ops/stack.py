#!/usr/bin/env python3
"""A production stack on this machine: ``make prod-up`` / ``make prod-down``.

PostgreSQL, Redis, N uvicorn workers (``chatsite.serve``) and one for image uploads, nginx
in front (TLS with a self-signed certificate made on first run, static files, HTTP and
WebSocket proxying), the purge scheduler and the task worker (pushes, e-mail digests) — all
on loopback, from Debian and PyPI packages. PIDs, logs, data and uploaded images (served by
nginx) live under ``--dir`` (default ``var/prod``, git-ignored).
Everything runs with ``DJANGO_ENV=production``.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import secrets
import shutil
import signal
import subprocess
import sys
import time
from glob import glob
from pathlib import Path

from ops.procs import Postgres, free_port, server_command, wait_for_port

ROOT = Path(__file__).resolve().parent.parent

NGINX_CONF = """\
{user}
worker_processes 1;
pid {dir}/nginx.pid;
error_log {dir}/logs/nginx-error.log warn;
# A proxied connection takes two (client and upstream): 16,384 clients per worker.
worker_rlimit_nofile 40000;
events {{ worker_connections 32768; }}
http {{
    # A client that does not finish its request headers (or body) in time is dropped, not
    # held: half-open connections must not pile up until descriptors run out.
    client_header_timeout {header_timeout}s;
    client_body_timeout {header_timeout}s;
    send_timeout 30s;
    keepalive_timeout 30s;
    include /etc/nginx/mime.types;
    access_log {dir}/logs/nginx-access.log;
    client_body_temp_path {dir}/nginx-tmp/body;
    proxy_temp_path {dir}/nginx-tmp/proxy;
    fastcgi_temp_path {dir}/nginx-tmp/fastcgi;
    uwsgi_temp_path {dir}/nginx-tmp/uwsgi;
    scgi_temp_path {dir}/nginx-tmp/scgi;
    map $http_upgrade $connection_upgrade {{ default upgrade; '' close; }}
    upstream chat {{
{upstreams}
    }}
    # Image uploads go to a worker of their own: processing a photo takes a core for a
    # fraction of a second, and no socket shares a process with it (bench/README.md, images).
    upstream chat_uploads {{
        server 127.0.0.1:{upload_port};
    }}
    server {{
        listen 127.0.0.1:{http_port};
        return 301 https://$host:{https_port}$request_uri;
    }}
    server {{
        listen 127.0.0.1:{https_port} ssl;
        server_name localhost;
        ssl_certificate {dir}/tls/cert.pem;
        ssl_certificate_key {dir}/tls/key.pem;
        ssl_protocols TLSv1.2 TLSv1.3;
        client_max_body_size 1m;
        location /static/ {{ alias {dir}/static/; expires 1h; }}
        # Images: Django checks the signed URL and answers X-Accel-Redirect to here; only
        # such an answer reaches this location (``internal``), never a client's request.
        location /_media/ {{
            internal;
            alias {dir}/media/;
            add_header X-Content-Type-Options nosniff always;
        }}
        # Uploads: up to CHAT_UPLOAD_MAX_BYTES (10 MB) and the multipart framing around it.
        location ~ ^/api/(rooms/[0-9]+/attachments|listings/[0-9]+/photo)/$ {{
            client_max_body_size 11m;
            proxy_pass http://chat_uploads;
            proxy_set_header Host $host;
            proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
            proxy_set_header X-Forwarded-Proto https;
        }}
        location = /metrics {{
            allow 127.0.0.1;
            deny all;
            proxy_pass http://chat;
            proxy_set_header Host $host;
            proxy_set_header X-Forwarded-Proto https;
        }}
        location /ws/ {{
            proxy_pass http://chat;
            proxy_http_version 1.1;
            proxy_set_header Upgrade $http_upgrade;
            proxy_set_header Connection $connection_upgrade;
            proxy_set_header Host $host;
            proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
            proxy_set_header X-Forwarded-Proto https;
            proxy_read_timeout 1h;
            proxy_send_timeout 1h;
        }}
        location / {{
            proxy_pass http://chat;
            proxy_set_header Host $host;
            proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
            proxy_set_header X-Forwarded-Proto https;
        }}
    }}
}}
"""


def vapid_private_pem() -> bytes:
    """A VAPID key pair for this stack (made once, kept beside its secret)."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    return ec.generate_private_key(ec.SECP256R1()).private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def binary(name: str, *patterns: str) -> str:
    found = shutil.which(name)
    for pattern in patterns:
        if found:
            break
        matches = sorted(glob(pattern))
        found = matches[-1] if matches else None
    if not found:
        sys.exit(f"{name} is not installed (apt-get install postgresql redis-server nginx openssl)")
    return found


class Stack:
    def __init__(self, args: argparse.Namespace) -> None:
        self.dir = Path(args.dir).resolve()
        self.config_file = self.dir / "stack.json"
        saved = json.loads(self.config_file.read_text()) if self.config_file.exists() else {}
        self.workers = args.workers or saved.get("workers", 2)
        self.https_port = args.https_port or saved.get("https_port", 8443)
        self.http_port = args.http_port or saved.get("http_port", 8080)
        self.pg_port = args.pg_port or saved.get("pg_port", 54329)
        self.redis_port = args.redis_port or saved.get("redis_port", 63799)
        self.first_worker_port = args.worker_port or saved.get("worker_port", 8101)
        self.upload_port = (
            getattr(args, "upload_port", None) or saved.get("upload_port") or free_port()
        )
        self.header_timeout = getattr(args, "header_timeout", None) or 10
        self.pg = Postgres(
            datadir=self.dir / "pgdata",
            port=self.pg_port,
            run_as="postgres" if os.geteuid() == 0 else None,
            bindir=Path(binary("pg_ctl", "/usr/lib/postgresql/*/bin/pg_ctl")).resolve().parent,
            durable=True,
        )

    @property
    def worker_ports(self) -> list[int]:
        return [self.first_worker_port + n for n in range(self.workers)]

    def save(self) -> None:
        self.config_file.write_text(
            json.dumps(
                {
                    "workers": self.workers,
                    "https_port": self.https_port,
                    "http_port": self.http_port,
                    "pg_port": self.pg_port,
                    "redis_port": self.redis_port,
                    "worker_port": self.first_worker_port,
                    "upload_port": self.upload_port,
                }
            )
        )

    def env(self) -> dict[str, str]:
        secret_file = self.dir / "secret"
        if not secret_file.exists():
            secret_file.write_text(secrets.token_urlsafe(50))
            secret_file.chmod(0o600)
        vapid_file = self.dir / "vapid.pem"
        if not vapid_file.exists():
            vapid_file.write_bytes(vapid_private_pem())
            vapid_file.chmod(0o600)
        env = {k: v for k, v in os.environ.items() if k not in {"TEST_DATABASE", "SQLITE_PATH"}}
        env.update(
            DJANGO_ENV="production",
            SECRET_KEY=secret_file.read_text().strip(),
            DATABASE_URL=f"postgres://postgres@127.0.0.1:{self.pg_port}/chat",
            REDIS_URL=f"redis://127.0.0.1:{self.redis_port}/0",
            FORWARDED_ALLOW_IPS="127.0.0.1",  # nginx's address: its X-Forwarded-For is believed
            ALLOWED_HOSTS="localhost,127.0.0.1",
            CSRF_TRUSTED_ORIGINS=f"https://localhost:{self.https_port},https://127.0.0.1:{self.https_port}",
            STATIC_ROOT=str(self.dir / "static"),
            MEDIA_ROOT=str(self.dir / "media"),
            MEDIA_ACCEL_REDIRECT="/_media/",
            PYTHONUNBUFFERED="1",
        )
        env.setdefault("VAPID_PRIVATE_KEY", vapid_file.read_text().strip())
        env.setdefault("VAPID_SUBJECT", "mailto:admin@localhost")
        env.setdefault("CHAT_SITE_URL", f"https://localhost:{self.https_port}")
        return env

    # --- up ------------------------------------------------------------------------------

    def up(self) -> None:
        for sub in ("logs", "run", "tls", "nginx-tmp", "media"):
            (self.dir / sub).mkdir(parents=True, exist_ok=True)
        self.save()
        self.tls()
        self.postgres()
        self.redis()
        env = self.env()
        manage = [sys.executable, "manage.py"]
        subprocess.run([*manage, "migrate", "--noinput", "-v0"], cwd=ROOT, env=env, check=True)
        subprocess.run(
            [*manage, "collectstatic", "--noinput", "-v0"], cwd=ROOT, env=env, check=True
        )
        for n, port in enumerate(self.worker_ports):
            self.start_worker(n, port, env)
        self.start_worker(0, self.upload_port, env, name="uploads")
        self.spawn(
            "purge",
            [*manage, "purge_idle_rooms", "--every", "3600"],
            env,
            self.dir / "logs/purge.log",
        )
        self.spawn(
            "tasks",
            [*manage, "chat_worker", "--worker-id", "prod-tasks-1"],
            env,
            self.dir / "logs/tasks.log",
        )
        self.nginx()
        where = f"https://localhost:{self.https_port}/"
        print(f"up: {where} ({self.workers} workers; logs in {self.dir}/logs)")

    def tls(self) -> None:
        cert, key = self.dir / "tls/cert.pem", self.dir / "tls/key.pem"
        if cert.exists() and key.exists():
            return
        subprocess.run(
            [
                binary("openssl"),
                "req",
                "-x509",
                "-newkey",
                "rsa:2048",
                "-nodes",
                "-days",
                "365",
                "-subj",
                "/CN=localhost",
                "-addext",
                "subjectAltName=DNS:localhost,IP:127.0.0.1",
                "-keyout",
                str(key),
                "-out",
                str(cert),
            ],
            check=True,
            capture_output=True,
        )

    def postgres(self) -> None:
        self.dir.mkdir(parents=True, exist_ok=True)
        self.pg.start()
        self.pg.create_database("chat")

    def redis(self) -> None:
        if self.alive("redis"):
            return
        self.spawn(
            "redis",
            [
                binary("redis-server"),
                "--port",
                str(self.redis_port),
                "--bind",
                "127.0.0.1",
                "--dir",
                str(self.dir),
                "--save",
                "",
                "--appendonly",
                "no",
            ],
            None,
            self.dir / "logs/redis.log",
        )
        wait_for_port(self.redis_port)

    def start_worker(
        self, n: int, port: int, env: dict[str, str] | None = None, *, name: str = "worker"
    ) -> None:
        self.spawn(
            f"{name}-{n}",
            server_command("uvicorn", port),
            env or self.env(),
            self.dir / f"logs/{name}-{n}.log",
        )
        wait_for_port(port)

    def nginx_conf(self) -> Path:
        """Write nginx's configuration (and the directories it names); its path."""
        upstreams = "\n".join(
            f"        server 127.0.0.1:{port} max_fails=1 fail_timeout=5s;"
            for port in self.worker_ports
        )
        conf = self.dir / "nginx.conf"
        conf.write_text(
            NGINX_CONF.format(
                dir=self.dir,
                upstreams=upstreams,
                upload_port=self.upload_port,
                http_port=self.http_port,
                https_port=self.https_port,
                header_timeout=self.header_timeout,
                user="user root;" if os.geteuid() == 0 else "",
            )
        )
        for sub in ("body", "proxy", "fastcgi", "uwsgi", "scgi"):
            (self.dir / "nginx-tmp" / sub).mkdir(parents=True, exist_ok=True)
        (self.dir / "logs").mkdir(parents=True, exist_ok=True)
        return conf

    def nginx(self) -> None:
        conf = self.nginx_conf()
        nginx = binary("nginx", "/usr/sbin/nginx")
        if (self.dir / "nginx.pid").exists() and self.alive_pidfile(self.dir / "nginx.pid"):
            subprocess.run([nginx, "-c", str(conf), "-s", "reload"], check=True)
        else:
            subprocess.run([nginx, "-c", str(conf)], check=True)
        wait_for_port(self.https_port)

    # --- processes -----------------------------------------------------------------------

    def spawn(self, name: str, cmd: list[str], env: dict[str, str] | None, log: Path) -> None:
        handle = log.open("ab")
        process = subprocess.Popen(
            cmd, cwd=ROOT, env=env, stdout=handle, stderr=subprocess.STDOUT, start_new_session=True
        )
        (self.dir / "run" / f"{name}.pid").write_text(str(process.pid))

    def pid(self, name: str) -> int | None:
        path = self.dir / "run" / f"{name}.pid"
        return int(path.read_text()) if path.exists() else None

    def alive(self, name: str) -> bool:
        pid = self.pid(name)
        return pid is not None and self._alive(pid)

    def alive_pidfile(self, path: Path) -> bool:
        try:
            return self._alive(int(path.read_text().strip()))
        except (OSError, ValueError):
            return False

    @staticmethod
    def _alive(pid: int) -> bool:
        try:
            os.kill(pid, 0)
        except OSError:
            return False
        return True

    def stop(self, name: str, sig: int = signal.SIGTERM, timeout: float = 10) -> None:
        pid = self.pid(name)
        if pid is None:
            return
        if self._alive(pid):
            os.kill(pid, sig)
            deadline = time.monotonic() + timeout
            while self._alive(pid) and time.monotonic() < deadline:
                time.sleep(0.05)
                with contextlib.suppress(ChildProcessError):  # reap it if it is our child
                    os.waitpid(pid, os.WNOHANG)
            if self._alive(pid):
                os.kill(pid, signal.SIGKILL)
        (self.dir / "run" / f"{name}.pid").unlink(missing_ok=True)

    # --- down, status ----------------------------------------------------------------------

    def down(self) -> None:
        conf = self.dir / "nginx.conf"
        if conf.exists() and self.alive_pidfile(self.dir / "nginx.pid"):
            subprocess.run(
                [binary("nginx", "/usr/sbin/nginx"), "-c", str(conf), "-s", "quit"], check=False
            )
        for path in sorted((self.dir / "run").glob("*.pid")) if (self.dir / "run").exists() else []:
            self.stop(path.stem)
        if (self.dir / "pgdata").exists() and self.pg.running():
            self.pg.stop()
        print("down")

    def status(self) -> None:
        names = (
            sorted(p.stem for p in (self.dir / "run").glob("*.pid"))
            if (self.dir / "run").exists()
            else []
        )
        for name in names:
            print(f"{name:10} {'up' if self.alive(name) else 'DOWN'} pid {self.pid(name)}")
        print(f"{'postgres':10} {'up' if self.pg.running() else 'DOWN'}")
        print(f"{'nginx':10} {'up' if self.alive_pidfile(self.dir / 'nginx.pid') else 'DOWN'}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("command", choices=["up", "down", "status"])
    parser.add_argument("--dir", default=os.environ.get("PROD_DIR", str(ROOT / "var/prod")))
    parser.add_argument("--workers", type=int, default=int(os.environ.get("WORKERS", 0)) or None)
    parser.add_argument("--https-port", type=int)
    parser.add_argument("--http-port", type=int)
    parser.add_argument("--pg-port", type=int)
    parser.add_argument("--redis-port", type=int)
    parser.add_argument("--worker-port", type=int, help="first worker's port; the rest follow")
    args = parser.parse_args()
    stack = Stack(args)
    getattr(stack, args.command)()


if __name__ == "__main__":
    main()
