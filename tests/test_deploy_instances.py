"""Two instances behind the shipped nginx, one Redis: a user's session, credentials and revokes
follow them from instance to instance, through a stop and a rolling restart."""

from __future__ import annotations

import re
import signal
import threading
import time
from dataclasses import dataclass

import pytest
import requests

from devstack.deploying import HOST, browser, gunicorn, nginx_in_front, portal_env
from devstack.processes import free_port
from devstack.testing import USERS, AuthActions, csrf_token

pytestmark = pytest.mark.deploy


@dataclass
class Answer:
    started: float
    ended: float
    status: int  # 0: no answer at all
    signed_in: bool


def sign_in(front: dict, devstack, username: str) -> requests.Session:
    """A browser signed in through nginx (whichever instances nginx picks for each step)."""
    session = browser(front)
    start = session.get(front["https"] + "/login", allow_redirects=False, timeout=10)
    callback = AuthActions(None, devstack).authorize(start.headers["Location"], username)
    done = session.get(front["https"] + callback, allow_redirects=False, timeout=10)
    assert done.status_code == 302, done.text[:300]
    return session


def direct(front: dict, port: int, session: requests.Session, method: str, path: str, **kw):
    """A request of this browser to one instance, bypassing nginx but carrying what nginx adds."""
    headers = {
        "Host": HOST,
        "X-Forwarded-For": "127.0.0.1",
        "X-Forwarded-Proto": "https",
        "X-Forwarded-Host": HOST,
        "X-Forwarded-Port": str(front["https_port"]),
        # Flask-WTF checks the Referer of an https form post against the host.
        "Referer": f"https://{HOST}:{front['https_port']}{path}",
        "Cookie": f"__Host-session={session.cookies['__Host-session']}",
    }
    url = f"http://127.0.0.1:{port}{path}"
    return requests.request(method, url, headers=headers, allow_redirects=False, timeout=10, **kw)


def signed_in(page: str) -> bool:
    return "Signed in as" in page


def handle_of(page: str) -> str:
    """bob's handle on alice's admin page (his only session there)."""
    row = page.split(USERS["bob"]["sub"])[0].rsplit("/admin/sessions/", 1)[1]
    return re.match(r"[0-9a-f]{32}", row).group(0)


def booted(log) -> int:
    """How many workers gunicorn has booted so far, by its own log."""
    return log.read_text(errors="replace").count("Booting worker")


def test_two_instances_share_sessions_through_a_stop_and_a_rolling_restart(
    tmp_path, devstack, redis_server
):
    redis_server.client().flushdb()
    env = portal_env(devstack, redis_server)
    ports = [free_port(), free_port()]
    with (
        gunicorn(tmp_path, ports[0], env, "first") as first,
        gunicorn(tmp_path, ports[1], env, "second") as second,
        nginx_in_front(tmp_path, ports) as front,
    ):
        # A revoke on one instance takes effect on the other at the next request.
        alice, victim = sign_in(front, devstack, "alice"), sign_in(front, devstack, "bob")
        assert signed_in(direct(front, ports[1], victim, "GET", "/").text)
        page = direct(front, ports[0], alice, "GET", "/admin/sessions").text
        path = f"/admin/sessions/{handle_of(page)}/revoke"
        revoked = direct(
            front, ports[0], alice, "POST", path, data={"csrf_token": csrf_token(page)}
        )
        assert revoked.status_code == 302
        assert not signed_in(direct(front, ports[1], victim, "GET", "/").text)

        # Every user's first pages on both instances: STS is called once per session.
        users = [sign_in(front, devstack, "bob") for _ in range(4)]
        for user in users:
            for port in ports:
                assert signed_in(direct(front, port, user, "GET", "/").text)

        answers: list[list[Answer]] = [[] for _ in users]
        stop = threading.Event()

        def browse(user: requests.Session, log: list[Answer]) -> None:
            while not stop.is_set():
                started = time.monotonic()
                try:
                    response = user.get(front["https"] + "/", allow_redirects=False, timeout=30)
                    status, page = response.status_code, response.text
                except requests.RequestException:
                    status, page = 0, ""
                log.append(Answer(started, time.monotonic(), status, signed_in(page)))
                time.sleep(0.02)

        def each_made(more: int) -> None:
            """Wait until every user has made `more` further requests (bounded)."""
            counts = [len(log) for log in answers]
            deadline = time.monotonic() + 60
            while any(len(log) < n + more for log, n in zip(answers, counts, strict=True)):
                assert time.monotonic() < deadline, "the load stalled"
                time.sleep(0.05)

        threads = [
            threading.Thread(target=browse, args=(user, log), daemon=True)
            for user, log in zip(users, answers, strict=True)
        ]
        for thread in threads:
            thread.start()
        each_made(10)
        stopped_at = time.monotonic()
        first.send_signal(signal.SIGTERM)  # stop one instance mid-load
        first.wait(30)
        each_made(10)
        boots = booted(tmp_path / "second.err")
        second.send_signal(signal.SIGHUP)  # a rolling restart of the other
        deadline = time.monotonic() + 60
        while booted(tmp_path / "second.err") == boots:
            assert time.monotonic() < deadline, "no new worker after SIGHUP"
            time.sleep(0.1)
        each_made(10)
        stop.set()
        for thread in threads:
            thread.join(60)

        everything = [a for log in answers for a in log]
        failed = [a for a in everything if a.status != 200 or not a.signed_in]
        in_flight = [a for a in failed if a.started <= stopped_at <= a.ended]
        print(
            f"\n{len(everything)} page views, {len(failed)} failed, "
            f"{len(in_flight)} of them in flight when the first instance was stopped"
        )
        assert failed == in_flight  # only those could have been lost with the instance
        assert all(a.signed_in for a in everything if a.status == 200)  # nobody signed out
        for name in ("first", "second"):  # nginx shared the load between both
            assert '"GET / ' in (tmp_path / f"{name}.out").read_text()
        assert devstack.sts_stats() == {"ok": 1 + len(users)}  # once per session, both instances
