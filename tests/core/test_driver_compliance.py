"""One set of assertions, run against the fake proxy driver and the real one on our proxy
server (and on a real Toxiproxy when ``TOXIPROXY_URL`` names one): the fake answers and
fails as the real thing does, so tests and dry runs on it mean something."""

from __future__ import annotations

import itertools
import os

import pytest

from harness.drivers.base import ProxyDriver
from harness.drivers.fake import FakeProxyDriver
from harness.drivers.toxiproxy import ToxiproxyDriver
from harness.errors import DriverError
from tests.core.stack_support import proxy_server

_prefixes = itertools.count()
SERVERS = ["fake", "embedded"] + (["toxiproxy"] if os.environ.get("TOXIPROXY_URL") else [])


@pytest.fixture(scope="module")
def embedded_url():
    with proxy_server() as url:
        yield url


@pytest.fixture(params=SERVERS)
def driver(request) -> ProxyDriver:
    prefix = f"compliance-{os.getpid()}-{next(_prefixes)}-"  # runs sharing a server never collide
    if request.param == "fake":
        made = FakeProxyDriver(prefix=prefix)
    else:
        url = os.environ["TOXIPROXY_URL"] if request.param == "toxiproxy" else request.getfixturevalue("embedded_url")
        made = ToxiproxyDriver(url, prefix=prefix)
    yield made
    for name in [n for n in made.proxies() if n.startswith(prefix)]:
        made.delete(name.removeprefix(prefix))
    made.close()


def _mine(driver: ProxyDriver, name: str) -> dict:
    return driver.proxies()[driver.prefix + name]


def test_both_implement_the_protocol(driver):
    assert isinstance(driver, ProxyDriver)
    assert driver.version()


def test_create_answers_the_real_listen_address_and_lists_the_proxy(driver):
    listen = driver.create("features", listen="127.0.0.1:0", upstream="127.0.0.1:9")
    host, port = listen.rsplit(":", 1)
    assert host == "127.0.0.1" and int(port) > 0
    proxy = _mine(driver, "features")
    assert (proxy["listen"], proxy["upstream"], proxy["enabled"], proxy["toxics"]) == (listen, "127.0.0.1:9", True, [])
    with pytest.raises(DriverError, match=r"refused to create proxy 'features': proxy already exists"):
        driver.create("features", listen="127.0.0.1:0", upstream="127.0.0.1:9")


def test_a_toxic_is_added_once_with_its_attributes_and_removed_idempotently(driver):
    driver.create("features", listen="127.0.0.1:0", upstream="127.0.0.1:9")
    driver.resolve("features")
    driver.add_toxic("features", name="slow", type="latency", stream="upstream", toxicity=0.5,
                     attributes={"latency": 300, "jitter": 20})
    (toxic,) = _mine(driver, "features")["toxics"]
    assert (toxic["name"], toxic["type"], toxic["stream"], toxic["toxicity"]) == ("slow", "latency", "upstream", 0.5)
    assert toxic["attributes"] == {"latency": 300, "jitter": 20}
    with pytest.raises(DriverError, match=r"refused to add toxic 'slow' to 'features': toxic already exists"):
        driver.add_toxic("features", name="slow", type="latency", attributes={"latency": 1})
    driver.remove_toxic("features", "slow")
    driver.remove_toxic("features", "slow")  # already gone: not an error
    assert _mine(driver, "features")["toxics"] == []


@pytest.mark.parametrize("kwargs, message", [
    ({"type": "lateness"}, "invalid toxic type"),
    ({"type": "latency", "stream": "sideways"}, "stream was invalid, can be either upstream or downstream"),
])
def test_a_bad_toxic_is_refused_with_toxiproxys_message(driver, kwargs, message):
    driver.create("features", listen="127.0.0.1:0", upstream="127.0.0.1:9")
    with pytest.raises(DriverError, match=f"refused to add toxic 'bad' to 'features': {message}"):
        driver.add_toxic("features", name="bad", **kwargs)


def test_a_missing_proxy_is_named(driver):
    with pytest.raises(DriverError, match=r"has no proxy 'nope'"):
        driver.resolve("nope")
    with pytest.raises(DriverError, match=r"refused to add toxic 't' to 'nope': proxy not found"):
        driver.add_toxic("nope", name="t", type="latency")
    with pytest.raises(DriverError, match=r"refused to remove toxic 't' from 'nope': proxy not found"):
        driver.remove_toxic("nope", "t")
    with pytest.raises(DriverError, match=r"refused to disable proxy 'nope': proxy not found"):
        driver.set_enabled("nope", False)
    driver.delete("nope")  # deleting what is not there is not an error


def test_disable_enable_and_delete(driver):
    driver.create("ingress", listen="127.0.0.1:0", upstream="127.0.0.1:9")
    driver.set_enabled("ingress", False)
    assert _mine(driver, "ingress")["enabled"] is False
    driver.set_enabled("ingress", True)
    assert _mine(driver, "ingress")["enabled"] is True
    driver.delete("ingress")
    driver.delete("ingress")
    assert driver.prefix + "ingress" not in driver.proxies()


def test_reset_enables_every_proxy_and_removes_every_toxic(driver):
    if driver.url == os.environ.get("TOXIPROXY_URL"):
        pytest.skip("reset would touch every proxy of a shared server")
    driver.create("ingress", listen="127.0.0.1:0", upstream="127.0.0.1:9")
    driver.set_enabled("ingress", False)
    driver.add_toxic("ingress", name="cut", type="timeout", attributes={"timeout": 0})
    driver.reset()
    proxy = _mine(driver, "ingress")
    assert proxy["enabled"] is True and proxy["toxics"] == []
