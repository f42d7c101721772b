"""A session is closed when its heartbeats are gone, not when one of them ends (ui.run_control.session_closed).

Gradio fires its unload event for every heartbeat connection that ends. Before, the app forgot the
session at once: a second heartbeat of the same session ending (a client reconnecting, a proxy dropping
one of two) deleted a live session's drag chain, and the next export said "Run a drag first". Here the
session's heartbeats are raw connections the test opens and closes, through the launched app."""
import socket
import time
import uuid

import httpx
import pytest

from gradio_client import Client

from ui.run_control import CLOSE_GRACE

pytestmark = pytest.mark.integration   # the launched app through gradio_client


class Heartbeat:
    """One open heartbeat connection of `session` (a raw socket: closing it ends the connection at once)."""

    def __init__(self, url, session):
        u = httpx.URL(url)
        self.sock = socket.create_connection((u.host, u.port), timeout=30)
        self.sock.sendall(f"GET /gradio_api/heartbeat/{session} HTTP/1.1\r\nHost: {u.host}\r\n\r\n".encode())
        assert b"ALIVE" in self.sock.recv(4096) or b"ALIVE" in self.sock.recv(4096), "the heartbeat did not open"

    def close(self):
        self.sock.close()


def test_one_heartbeat_ending_keeps_the_session_and_the_last_one_ending_closes_it(shared_app):
    c = Client(shared_app.url, verbose=False)
    c.session_hash = f"close-test-{uuid.uuid4()}"   # this session's heartbeats are the test's own
    first, second = Heartbeat(shared_app.url, c.session_hash), Heartbeat(shared_app.url, c.session_hash)
    c.predict(shared_app.model, 3, 0.7, "w+", api_name="/new_image")
    c.predict(200, 256, api_name="/add_point")
    c.predict(300, 256, api_name="/add_point")
    c.predict(None, max_steps=2, api_name="/drag_draggan")
    first.close()
    time.sleep(CLOSE_GRACE + 0.5)
    assert c.predict(api_name="/export")   # the other heartbeat is open: the session and its chain are kept
    second.close()
    time.sleep(CLOSE_GRACE + 0.5)
    with pytest.raises(Exception, match="Run a drag first"):   # the last one ended: the session is forgotten
        c.predict(api_name="/export")
