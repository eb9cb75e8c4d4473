"""``free_port`` never hands the same port out twice in one process, even when the kernel
offers it again (it did: a run gave its proxy server and a service the same port)."""

from harness import probes


class _Offers:
    """A socket stand-in whose bind(0) is given the ports in ``offers``, in order."""

    def __init__(self, offers: list[int]):
        self.offers = offers

    def __call__(self, *args, **kwargs):
        outer = self

        class Sock:
            def __enter__(self):
                return self

            def __exit__(self, *exc):
                return False

            def bind(self, address):
                self.port = outer.offers.pop(0)

            def getsockname(self):
                return ("127.0.0.1", self.port)

        return Sock()


def test_a_port_offered_again_is_skipped(monkeypatch):
    monkeypatch.setattr(probes, "_HANDED_OUT", set())
    monkeypatch.setattr(probes.socket, "socket", _Offers([40001, 40001, 40001, 40002]))
    assert [probes.free_port(), probes.free_port()] == [40001, 40002]

