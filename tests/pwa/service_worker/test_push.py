"""The service worker's push decisions, run directly with node: which notification a payload makes, and which
window a click focuses or navigates and to which URL (no tool can click a real notification)."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from pwa.assets import PUSH_WORKER

NODE = shutil.which("node")
ORIGIN = "https://ipms.example.com"
pytestmark = pytest.mark.skipif(NODE is None, reason="node is not installed")


def call(function: str, *args: Any) -> Any:
    script = (f"const push = require({json.dumps(str(PUSH_WORKER))});"
              f"process.stdout.write(JSON.stringify(push.{function}(...{json.dumps(args)})));")
    done = subprocess.run([str(NODE), "-e", script], capture_output=True, text=True, timeout=30, check=False)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def window(path: str, focused: bool = False, visible: bool = True, origin: str = ORIGIN) -> dict[str, Any]:
    return {"url": origin + path, "focused": focused, "visibilityState": "visible" if visible else "hidden"}


def test_click_focuses_the_window_already_on_the_url():
    windows = [window("/inbox", focused=True), window("/projects/p1#milestone-m1")]
    assert call("chooseWindow", windows, f"{ORIGIN}/projects/p1#milestone-m1", ORIGIN) == {"action": "focus",
                                                                                           "index": 1}


def test_click_navigates_the_focused_then_visible_then_first_app_window():
    target = f"{ORIGIN}/projects/p2"
    assert call("chooseWindow", [window("/", visible=False), window("/inbox", focused=True)], target, ORIGIN) == {
        "action": "navigate", "index": 1, "url": target}
    assert call("chooseWindow", [window("/", visible=False), window("/clients")], target, ORIGIN) == {
        "action": "navigate", "index": 1, "url": target}
    assert call("chooseWindow", [window("/", visible=False), window("/clients", visible=False)], target, ORIGIN) == {
        "action": "navigate", "index": 0, "url": target}


def test_click_opens_a_window_when_none_of_ours_is_open():
    others = [window("/", focused=True, origin="https://mail.example.com")]
    assert call("chooseWindow", others, f"{ORIGIN}/inbox", ORIGIN) == {"action": "open", "url": f"{ORIGIN}/inbox"}
    assert call("chooseWindow", [], f"{ORIGIN}/", ORIGIN) == {"action": "open", "url": f"{ORIGIN}/"}


@pytest.mark.parametrize(("url", "expected"), [
    ("/projects/p1#milestone-m1", f"{ORIGIN}/projects/p1#milestone-m1"),
    ("/clients?q=王", f"{ORIGIN}/clients?q=%E7%8E%8B"),
    ("https://evil.example.com/phish", f"{ORIGIN}/"),
    ("javascript:alert(1)", f"{ORIGIN}/"),
    ("", f"{ORIGIN}/"),
    (None, f"{ORIGIN}/"),
])
def test_notification_url_stays_on_the_app_origin(url, expected):
    assert call("pushTargetUrl", url, ORIGIN) == expected


def test_escalation_notification_renotifies_and_others_do_not():
    escalation = call("notificationFor", {"title": "超时未办", "body": "合同审核", "url": "/projects/p1",
                                          "tag": "p-abc", "project_id": "p1", "kind": "escalation",
                                          "urgency": "high"}, ORIGIN)
    assert escalation["title"] == "超时未办"
    options = escalation["options"]
    assert options["tag"] == "p-abc" and options["renotify"] is True and options["requireInteraction"] is True
    assert options["data"] == {"url": f"{ORIGIN}/projects/p1", "project_id": "p1", "kind": "escalation"}
    assert options["icon"] and options["badge"] and options["body"] == "合同审核"
    reminder = call("notificationFor", {"title": "t", "kind": "reminder", "urgency": "normal", "tag": "p-x"}, ORIGIN)
    assert reminder["options"]["renotify"] is False and reminder["options"]["data"]["url"] == f"{ORIGIN}/"
    unreadable = call("notificationFor", None, ORIGIN)
    assert unreadable["title"] == "IPMS" and unreadable["options"]["tag"], "renotify needs a tag; always give one"


def test_push_script_is_what_sw_js_imports():
    sw = (Path(PUSH_WORKER).parent / "sw.js").read_text()
    assert 'importScripts("/sw-push.js")' in sw
