"""Sign-in as a stranger would probe it: the same answers for registered and unregistered USCCs, a lock
that only shuts out the client that guessed (and only after a human check), client addresses behind a
trusted proxy, and a portal that keeps answering when Redis is down."""

import datetime
import re

import pytest
import time_machine
from django.test import Client, RequestFactory
from django.utils import timezone

from core.client_address import client_address
from enterprises.identity import SESSION_KEY
from notifications.models import Message
from portal.services import human_check
from tests.factories import EnterpriseFactory, make_uscc

pytestmark = pytest.mark.django_db


@pytest.fixture
def firm(db):
    return EnterpriseFactory(name="无锡登录测试有限公司", contact_mobile="13700000001")


def answers(response) -> list[str]:
    """What the page says back: its messages, and whether it asks for the picture's digits."""
    page = response.content.decode()
    said = (
        re.findall(r'<li class="[^"]*">([^<]*)</li>', page.split('class="messages"')[1]) if "messages" in page else []
    )
    return [*said, "picture" if 'name="check"' in page else "no picture"]


def solve(client) -> str:
    """The digits of a fresh picture, read as a person would read them."""
    assert client.get("/login/check.png")["Content-Type"] == "image/png"
    return client.session[human_check.SESSION_KEY]["answer"]


def probe(client, uscc) -> list[list[str]]:
    """A stranger's sequence: two codes in a row, then wrong codes until locked, answering the pictures."""
    said = [answers(client.post("/login/", {"uscc": uscc, "action": "send"})) for _ in range(2)]
    for n in range(12):
        data = {"uscc": uscc, "code": "000000", "action": "verify"}
        if n == 3:
            said.append(answers(client.post("/login/", data)))  # without the picture's digits
        if n >= 3:
            data["check"] = solve(client)
        said.append(answers(client.post("/login/", data)))
    return said


def test_every_answer_is_the_same_for_a_registered_and_an_unregistered_uscc(firm, outbox):
    known = probe(Client(REMOTE_ADDR="10.0.0.1"), firm.uscc)
    unknown = probe(Client(REMOTE_ADDR="10.0.0.2"), make_uscc(424242))
    assert known == unknown
    flat = [line for answer in known for line in answer]
    assert any("验证码发送过于频繁" in line for line in flat)  # the second code within a minute
    assert any("请先正确输入图片中的数字" in line for line in flat)
    assert any("已暂时锁定" in line for line in flat)
    assert len(outbox()) == 1  # the registered firm's one code


def test_a_stranger_who_guesses_locks_out_only_themselves(firm, outbox):
    stranger = Client(REMOTE_ADDR="10.0.0.66")
    said = probe(stranger, firm.uscc)
    assert "已暂时锁定" in said[-1][0]
    owner = Client(REMOTE_ADDR="10.0.0.7")
    with time_machine.travel(timezone.now() + datetime.timedelta(minutes=2)):  # one code a minute per USCC
        owner.post("/login/", {"uscc": firm.uscc, "action": "send"})
        code = re.search(r"验证码为(\d{6})", outbox()[-1]["text"]).group(1)
        locked = stranger.post("/login/", {"uscc": firm.uscc, "code": code, "action": "verify"})
        assert "已暂时锁定" in answers(locked)[0]  # even with the right code
        response = owner.post("/login/", {"uscc": firm.uscc, "code": code, "action": "verify"})
    assert response.status_code == 302 and SESSION_KEY in owner.session


def test_without_the_pictures_digits_wrong_codes_stop_counting_and_never_lock(firm, outbox):
    script = Client(REMOTE_ADDR="10.0.0.66")
    script.post("/login/", {"uscc": firm.uscc, "action": "send"})
    code = re.search(r"验证码为(\d{6})", outbox()[-1]["text"]).group(1)
    wrong = "000000" if code != "000000" else "111111"
    said = [answers(script.post("/login/", {"uscc": firm.uscc, "code": wrong, "action": "verify"})) for _ in range(30)]
    assert said[2] == ["验证码错误或已过期，请重新获取。", "picture"]
    assert all(answer[0].startswith("请先正确输入图片中的数字") for answer in said[3:])
    bad = script.post("/login/", {"uscc": firm.uscc, "code": code, "check": "0000", "action": "verify"})
    assert answers(bad)[0].startswith("请先正确输入图片中的数字")  # a wrong reading is no reading
    ok = script.post("/login/", {"uscc": firm.uscc, "code": code, "check": solve(script), "action": "verify"})
    assert ok.status_code == 302  # not locked: the code was never voided by the unanswered tries


@pytest.mark.parametrize(
    ("proxies", "peer", "forwarded", "client"),
    [
        ([], "127.0.0.1", "203.0.113.5", "127.0.0.1"),  # no proxy configured: the header is not read
        (["10.1.0.0/16"], "198.51.100.9", "203.0.113.5", "198.51.100.9"),  # an untrusted peer's header is not read
        (["10.1.0.0/16"], "10.1.2.3", "203.0.113.5", "203.0.113.5"),
        (["10.1.0.0/16"], "10.1.2.3", "6.6.6.6, 203.0.113.5, 10.1.0.7", "203.0.113.5"),  # what the client wrote
        (["10.1.0.0/16"], "10.1.2.3", "junk, 10.1.0.7", "10.1.0.7"),
        (["10.1.2.3", "::1"], "::1", "2001:db8::7", "2001:db8::7"),
    ],
)
def test_the_client_address_is_read_from_a_trusted_proxys_header_only(settings, proxies, peer, forwarded, client):
    settings.TRUSTED_PROXIES = proxies
    request = RequestFactory().get("/login/", REMOTE_ADDR=peer, HTTP_X_FORWARDED_FOR=forwarded)
    assert client_address(request) == client


def test_behind_a_trusted_proxy_each_client_has_its_own_limit(settings, outbox):
    settings.TRUSTED_PROXIES = ["127.0.0.1"]
    behind = Client(HTTP_X_FORWARDED_FOR="203.0.113.5")
    for n in range(20):
        behind.post("/login/", {"uscc": make_uscc(700_000 + n), "action": "send"})
    refused = behind.post("/login/", {"uscc": make_uscc(700_100), "action": "send"})
    assert "请求过于频繁" in answers(refused)[0]
    other = Client(HTTP_X_FORWARDED_FOR="203.0.113.6").post("/login/", {"uscc": make_uscc(700_101), "action": "send"})
    assert "验证码已发送到登记的手机" in answers(other)[0]
    settings.TRUSTED_PROXIES = []  # a header from an untrusted peer changes nothing
    spoofed = Client(HTTP_X_FORWARDED_FOR="203.0.113.7").post("/login/", {"uscc": make_uscc(700_102), "action": "send"})
    assert "验证码已发送到登记的手机" in answers(spoofed)[0]  # 127.0.0.1 itself had sent nothing yet


def test_a_stranger_asking_for_a_firms_codes_does_not_stop_the_firm_getting_one(settings, firm, outbox):
    settings.TRUSTED_PROXIES = ["127.0.0.1"]
    stranger = Client(HTTP_X_FORWARDED_FOR="203.0.113.20")
    for minute in range(6):
        with time_machine.travel(timezone.now() + datetime.timedelta(minutes=2 * minute), tick=False):
            said = answers(stranger.post("/login/", {"uscc": firm.uscc, "action": "send"}))[0]
    assert "本小时内已多次获取验证码，请 1 小时后再试" in said  # the stranger's own five an hour are used up
    own = Client(HTTP_X_FORWARDED_FOR="198.51.100.7")
    with time_machine.travel(timezone.now() + datetime.timedelta(minutes=13), tick=False):
        assert "验证码已发送到登记的手机" in answers(own.post("/login/", {"uscc": firm.uscc, "action": "send"}))[0]
    assert len(outbox()) == 6  # five to the stranger's asking, one the firm asked for
    # Many strangers together still cannot flood the firm's mobile: a ceiling per USCC.
    for n in range(20):
        Client(HTTP_X_FORWARDED_FOR=f"192.0.2.{n}").post("/login/", {"uscc": firm.uscc, "action": "send"})
    assert len(outbox()) == 10


def test_an_ipv6_host_counts_as_one_client_whatever_address_of_its_64_it_uses(settings, outbox):
    settings.TRUSTED_PROXIES = ["127.0.0.1"]
    for n in range(20):
        host = Client(HTTP_X_FORWARDED_FOR=f"2001:db8:5:7::{n + 1:x}")
        host.post("/login/", {"uscc": make_uscc(800_000 + n), "action": "send"})
    refused = Client(HTTP_X_FORWARDED_FOR="2001:db8:5:7::ffff").post(
        "/login/", {"uscc": make_uscc(800_100), "action": "send"}
    )
    assert "请求过于频繁" in answers(refused)[0]
    neighbour = Client(HTTP_X_FORWARDED_FOR="2001:db8:5:8::1").post(
        "/login/", {"uscc": make_uscc(800_101), "action": "send"}
    )
    assert "验证码已发送到登记的手机" in answers(neighbour)[0]


# --- Redis down ---------------------------------------------------------------------------------------------


@pytest.fixture
def redis_down(settings, free_tcp_port):
    """The Redis client and the rate limiter pointed at a port where nothing listens."""
    from core import redis as shared_redis
    from notifications.gateways import throttle

    settings.REDIS_URL = f"redis://127.0.0.1:{free_tcp_port}/0"
    shared_redis.client.cache_clear()
    throttle.limiter.cache_clear()
    yield
    shared_redis.client.cache_clear()
    throttle.limiter.cache_clear()


def test_without_redis_the_link_page_renders_from_postgresql_and_counts_the_opening(pushed, redis_down):
    firms, (grant, free) = pushed
    firm, message = firms["a"]
    response = Client().get(f"/b/{message.token}")
    page = response.content.decode()
    assert response.status_code == 200
    assert firm.name in page and grant.title in page and free.title in page and "新吴区" in page
    message.refresh_from_db()
    assert message.open_count == 1 and message.first_opened_at is not None  # counted in PostgreSQL directly


def test_without_redis_sign_in_says_busy_instead_of_failing(firm, redis_down, outbox):
    visitor = Client(raise_request_exception=False)
    assert visitor.get("/login/").status_code == 200
    for data in ({"uscc": firm.uscc, "action": "send"}, {"uscc": firm.uscc, "code": "123456", "action": "verify"}):
        response = visitor.post("/login/", data)
        assert response.status_code == 503 and answers(response)[0] == "服务繁忙，请稍后再试。"
    assert outbox() == [] and SESSION_KEY not in visitor.session
    assert not Message.objects.exists()
