"""The push library without a database: keys, payload, topic, quiet hours, retry rules, token cache, encryption."""

from __future__ import annotations

import datetime as dt
import json
import stat
import uuid

import http_ece
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from notifications.push.keys import VapidKeys, b64url_encode, check_subject, load_or_create_keys, parse_private_key
from notifications.push.payload import MAX_PAYLOAD_BYTES, build_payload, project_id_of, push_topic
from notifications.push.preferences import Preference, parse_hhmm, quiet_hours_end, urgency_header
from notifications.push.sender import Encryptor, Reply, RetryPolicy, VapidSigner, audience, classify, retry_after
from tests.support.push_service import PushServiceStandIn, unb64

T0 = dt.datetime(2026, 12, 1, 2, 0, tzinfo=dt.UTC)  # 10:00 in Shanghai


def test_push_keys_generated_once_into_data_dir_with_0600(tmp_path):
    first = load_or_create_keys(tmp_path)
    path = tmp_path / "vapid_private_key.pem"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    again = load_or_create_keys(tmp_path)
    assert again.application_server_key == first.application_server_key
    assert [p.name for p in tmp_path.iterdir()] == [path.name], "no temp files left behind"


def test_push_keys_from_settings_raw_or_pem_and_must_match(tmp_path):
    keys = VapidKeys.generate()
    raw = b64url_encode(keys.private_key.private_numbers().private_value.to_bytes(32, "big"))
    assert load_or_create_keys(tmp_path, raw).application_server_key == keys.application_server_key
    pem = keys.private_pem.decode()
    assert load_or_create_keys(tmp_path, pem, keys.application_server_key).public_raw == keys.public_raw
    with pytest.raises(ValueError, match="does not belong"):
        load_or_create_keys(tmp_path, raw, VapidKeys.generate().application_server_key)
    with pytest.raises(ValueError, match="without"):
        load_or_create_keys(tmp_path, "", keys.application_server_key)
    assert not list(tmp_path.iterdir()), "keys from settings write no file"
    with pytest.raises(ValueError):
        parse_private_key("c2hvcnQ")


def test_push_subject_must_be_an_email():
    assert check_subject("mailto:ops@example.com") == "ops@example.com"
    for bad in ("https://example.com", "ops", "a@b", "ops @example.com"):
        with pytest.raises(ValueError):
            check_subject(bad)


def test_push_topic_is_project_hex_or_short_key():
    project = uuid.uuid4()
    assert push_topic(str(project)) == project.hex and len(project.hex) == 32
    assert project_id_of(str(project)) == project
    assert push_topic("") == ""
    assert push_topic("weekly") == "weekly"
    long = push_topic("x" * 80)
    assert len(long) == 32 and long != push_topic("y" * 80)


@pytest.mark.parametrize("body", ["短" * 4000, "\n\"\\" * 1500, "a" * 10_000, "🚨" * 3000])
def test_push_payload_always_under_3kb_body_cut(body):
    data = build_payload(title="标题" * 100, body=body, url="/projects/" + "x" * 480, tag="p-" + "f" * 32,
                         project_id=uuid.uuid4(), kind="escalation", urgency="high")
    assert len(data) < MAX_PAYLOAD_BYTES
    message = json.loads(data)
    assert message["body"].endswith("…") and message["title"] == "标题" * 100
    assert set(message) == {"title", "body", "url", "tag", "project_id", "kind", "urgency"}


def test_push_payload_short_is_untouched():
    data = json.loads(build_payload(title="t", body="b", url="", tag="x", project_id=None, kind="reminder",
                                    urgency="normal"))
    assert data == {"title": "t", "body": "b", "url": "/", "tag": "x", "project_id": None, "kind": "reminder",
                    "urgency": "normal"}


def test_quiet_hours_wrap_midnight_in_branch_time_zone():
    start, end = parse_hhmm("22:00"), parse_hhmm("07:00")
    at_23_local = dt.datetime(2026, 12, 1, 15, 0, tzinfo=dt.UTC)  # 23:00 Shanghai
    assert quiet_hours_end(at_23_local, "Asia/Shanghai", start, end) == dt.datetime(
        2026, 12, 1, 23, 0, tzinfo=dt.UTC)  # 07:00 Shanghai next day
    at_06_local = dt.datetime(2026, 12, 1, 22, 0, tzinfo=dt.UTC)  # 06:00 Shanghai
    assert quiet_hours_end(at_06_local, "Asia/Shanghai", start, end) == dt.datetime(
        2026, 12, 1, 23, 0, tzinfo=dt.UTC)
    assert quiet_hours_end(T0, "Asia/Shanghai", start, end) is None
    assert quiet_hours_end(at_23_local, "UTC", start, end) is None  # 15:00 in UTC
    daytime = Preference(quiet_start=parse_hhmm("12:00"), quiet_end=parse_hhmm("13:30"))
    noon = dt.datetime(2026, 12, 1, 4, 15, tzinfo=dt.UTC)  # 12:15 Shanghai
    assert daytime.held_until(noon, "Asia/Shanghai", "reminder") == noon.replace(hour=5, minute=30)
    assert daytime.held_until(noon, "Asia/Shanghai", "nudge") == noon.replace(hour=5, minute=30)
    assert daytime.held_until(noon, "Asia/Shanghai", "escalation") == noon
    for bad in ("24:00", "7", "07:5", "aa:bb"):
        with pytest.raises(ValueError):
            parse_hhmm(bad)


def test_preference_escalations_locked_on_for_managers():
    muted = Preference(muted_kinds=frozenset({"escalation", "reminder"}))
    assert muted.pushes("escalation", "branch_manager") and muted.pushes("escalation", "project_manager")
    assert not muted.pushes("escalation", "agent") and not muted.pushes("reminder", "branch_manager")
    assert muted.pushes("mention", "agent") and muted.pushes("test", "agent")
    assert urgency_header("escalation", "normal") == urgency_header("nudge", "high") == "high"
    assert urgency_header("reminder", "normal") == "normal"


def test_classify_push_service_answers():
    policy = RetryPolicy()
    assert classify(Reply(201, {}), "", 1, T0, policy).status == "sent"
    for status in (404, 410):
        assert classify(Reply(status, {}), "", 1, T0, policy).status == "gone"
    bad = classify(Reply(400, {}, "bad JWT"), "", 1, T0, policy)
    assert bad.status == "failed" and "400" in bad.reason
    slow = classify(Reply(429, {"retry-after": "120"}), "", 1, T0, policy)
    assert slow.status == "retry" and slow.next_at == T0 + dt.timedelta(seconds=120)
    dated = classify(Reply(503, {"retry-after": "Tue, 01 Dec 2026 02:05:00 GMT"}), "", 1, T0, policy)
    assert dated.next_at == T0 + dt.timedelta(minutes=5)
    assert [classify(Reply(500, {}), "", n, T0, policy).next_at - T0 for n in (1, 2, 3)] == [
        dt.timedelta(seconds=30), dt.timedelta(seconds=60), dt.timedelta(seconds=120)]
    assert policy.backoff(20) == policy.cap
    down = classify(None, "ClientConnectorError: refused", 2, T0, policy)
    assert down.status == "retry" and "refused" in down.reason
    last = classify(Reply(502, {}), "", policy.max_attempts, T0, policy)
    assert last.status == "failed" and "gave up after 8 attempts" in last.reason
    assert retry_after("soon", T0) is None and retry_after(None, T0) is None


def test_vapid_token_cached_per_origin_and_renewed_before_expiry():
    keys = VapidKeys.generate()
    now = [T0]
    signer = VapidSigner(keys, "ops@example.com", clock=lambda: now[0])
    first = signer.header("https://fcm.googleapis.com/fcm/send/abc")
    assert signer.header("https://fcm.googleapis.com/fcm/send/def") == first
    other = signer.header("https://updates.push.services.mozilla.com/wpush/v2/x")
    assert other != first and signer.signed == 2
    now[0] = T0 + dt.timedelta(hours=10, minutes=59)
    assert signer.header("https://fcm.googleapis.com/x") == first
    now[0] = T0 + dt.timedelta(hours=11, minutes=1)
    renewed = signer.header("https://fcm.googleapis.com/x")
    assert renewed != first and signer.signed == 3
    token = renewed.split("t=")[1].split(",")[0]
    public = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), keys.public_raw)
    claims = jwt.decode(token, public, algorithms=["ES256"], audience="https://fcm.googleapis.com",
                        options={"verify_exp": False})
    assert claims["sub"] == "mailto:ops@example.com"
    assert claims["exp"] == int((now[0] + dt.timedelta(hours=12)).timestamp())
    assert audience("http://127.0.0.1:8123/push/a") == "http://127.0.0.1"


def test_encryption_is_rfc8291_aes128gcm_readable_by_http_ece():
    keys = VapidKeys.generate()
    browser = PushServiceStandIn(keys.application_server_key, port=1).browser("phone")
    plaintext = json.dumps({"title": "升级", "body": "x" * 2000}).encode()
    body = Encryptor(keys).encrypt(plaintext, browser.p256dh, b64url_encode(browser.auth))
    assert http_ece.decrypt(body, private_key=browser.private_key, auth_secret=browser.auth,
                            version="aes128gcm") == plaintext
    assert len(body) <= 4096 and unb64(browser.p256dh)[0] == 4
