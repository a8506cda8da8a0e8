"""The shipped nginx configuration (ops/stack.py): valid, and it drops clients that never
finish their request headers instead of holding them."""

import argparse
import socket
import subprocess
import time

import pytest

from ops.stack import Stack
from tests.servers import free_port, need_binary


@pytest.fixture
def nginx_stack(tmp_path):
    nginx = need_binary("nginx", "/usr/sbin/nginx")
    need_binary("openssl")
    need_binary("pg_ctl", "/usr/lib/postgresql/*/bin/pg_ctl")  # Stack() locates it
    args = argparse.Namespace(
        dir=str(tmp_path),
        workers=1,
        https_port=free_port(),
        http_port=free_port(),
        pg_port=free_port(),
        redis_port=free_port(),
        worker_port=free_port(),
        header_timeout=1,
    )
    stack = Stack(args)
    (tmp_path / "tls").mkdir()
    stack.tls()
    conf = stack.nginx_conf()
    yield stack, nginx, conf
    subprocess.run([nginx, "-c", str(conf), "-s", "quit"], capture_output=True, check=False)


def test_the_generated_config_passes_nginx_t(nginx_stack):
    _stack, nginx, conf = nginx_stack
    checked = subprocess.run([nginx, "-t", "-c", str(conf)], capture_output=True, text=True)
    assert checked.returncode == 0, checked.stderr
    text = conf.read_text()
    for directive in ("client_header_timeout 1s", "client_body_timeout 1s", "worker_connections"):
        assert directive in text


def test_nginx_drops_a_client_that_never_finishes_its_headers(nginx_stack):
    stack, nginx, conf = nginx_stack
    subprocess.run([nginx, "-c", str(conf)], check=True, capture_output=True)
    from ops.procs import wait_for_port

    wait_for_port(stack.http_port)
    sockets = []
    for _ in range(20):
        sock = socket.create_connection(("127.0.0.1", stack.http_port))
        sock.sendall(b"GET / HT")
        sockets.append(sock)
    deadline = time.monotonic() + 6
    closed = 0
    for sock in sockets:
        sock.settimeout(max(0.1, deadline - time.monotonic()))
        try:
            while sock.recv(4096):
                pass
            closed += 1
        except ConnectionResetError:
            closed += 1
        except TimeoutError:
            pass
        finally:
            sock.close()
    assert closed == 20
    with socket.create_connection(("127.0.0.1", stack.http_port)) as sock:
        sock.sendall(b"GET / HTTP/1.1\r\nHost: localhost\r\n\r\n")
        sock.settimeout(5)
        assert sock.recv(4096).startswith(b"HTTP/1.1 301")  # a whole request is answered
