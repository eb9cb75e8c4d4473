"""report.html in a real browser (Debian's headless ``chromium``): no console message at
all (the page has no script; a control page proves such messages are caught), and a
screenshot inspected where the layout puts the charts and the verdict badge."""

import json
import shutil
import struct
import subprocess
import zlib
from pathlib import Path

import pytest

from harness.reporting import write_reports
from tests.analysis.test_incident import incident_run

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="needs Debian's chromium (apt-get install chromium; "
                                                         ".ci/run installs it)")
WIDTH, HEIGHT = 1100, 1200
MEASURE = """<script>
const box = e => { const b = e.getBoundingClientRect(); return [b.x, b.y, b.width, b.height]; };
const badge = document.querySelector('h1 .badge');
const out = {svgs: [...document.querySelectorAll('svg')].map(box), badge: box(badge),
             badge_bg: getComputedStyle(badge).backgroundColor, marks: document.querySelectorAll('svg line.mark').length,
             dpr: window.devicePixelRatio};
const pre = document.createElement('pre'); pre.id = 'measure'; pre.textContent = JSON.stringify(out);
document.body.appendChild(pre);
</script></body>"""


def chromium(url: str, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--enable-logging=stderr",
                           "--v=0", "--hide-scrollbars", "--force-device-scale-factor=1",
                           f"--window-size={WIDTH},{HEIGHT}", *args, url],
                          capture_output=True, text=True, timeout=120)


def console_lines(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if ":CONSOLE" in line]


def read_png(path: Path, max_rows: int) -> tuple[int, int, list[bytes]]:
    """Width, height and the first ``max_rows`` RGB rows of an 8-bit RGB/RGBA PNG (what chromium writes)."""
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, idat, width = 8, b"", 0
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        chunk = data[pos + 8:pos + 8 + length]
        if kind == b"IHDR":
            width, height, depth, color = struct.unpack(">IIBB", chunk[:10])
            assert depth == 8 and color in (2, 6)
            channels = 3 if color == 2 else 4
        elif kind == b"IDAT":
            idat += chunk
        pos += 12 + length
    raw, rows, stride = zlib.decompress(idat), [], width * channels
    prev = bytearray(stride)
    for y in range(min(height, max_rows)):
        kind, line = raw[y * (stride + 1)], bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        for i in range(stride):
            a = line[i - channels] if i >= channels else 0
            b, c = prev[i], prev[i - channels] if i >= channels else 0
            if kind == 1:
                line[i] = (line[i] + a) & 255
            elif kind == 2:
                line[i] = (line[i] + b) & 255
            elif kind == 3:
                line[i] = (line[i] + (a + b) // 2) & 255
            elif kind == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                line[i] = (line[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
        rows.append(bytes(line[i] for i in range(stride) if i % channels < 3))
        prev = line
    return width, height, rows


def pixels(rows: list[bytes], box: list[float]) -> list[tuple[int, int, int]]:
    x, y, w, h = (int(round(v)) for v in box)
    return [tuple(rows[j][3 * i:3 * i + 3]) for j in range(y, y + h) for i in range(x, x + w)]


def near(p: tuple[int, int, int], q: tuple[int, int, int], tol: int = 12) -> bool:
    return all(abs(a - b) <= tol for a, b in zip(p, q))


def test_the_console_check_catches_a_message(tmp_path):
    page = tmp_path / "control.html"
    page.write_text('<html><body><script>console.error("control-message")</script></body></html>')
    lines = console_lines(chromium(page.as_uri(), "--dump-dom").stderr)
    assert any("control-message" in line for line in lines)


def test_report_renders_without_console_messages_and_looks_right(tmp_path):
    run_dir = incident_run(tmp_path)
    write_reports(run_dir)
    report = run_dir / "report.html"
    shot = tmp_path / "report.png"
    rendered = chromium(report.as_uri(), f"--screenshot={shot}")
    assert rendered.returncode == 0, rendered.stderr
    assert console_lines(rendered.stderr) == []

    measured_page = tmp_path / "measured.html"
    measured_page.write_text(report.read_text().replace("</body>", MEASURE))
    dom = chromium(measured_page.as_uri(), "--dump-dom")
    assert console_lines(dom.stderr) == []
    m = json.loads(dom.stdout.split('<pre id="measure">', 1)[1].split("</pre>", 1)[0].replace("&quot;", '"'))
    assert m["dpr"] == 1
    assert len(m["svgs"]) == 5  # latency, service time, error rate, flag rates, throughput
    for x, y, w, h in m["svgs"]:
        assert w > 800 and 150 < h < 400  # each chart has its size (920x230 viewBox, scaled to the page)
    assert m["marks"] == 5 * 6  # 2 steps, 1 note, detected, mitigated, recovered on each chart
    assert m["badge_bg"] == "rgb(227, 246, 227)"  # passed

    first = m["svgs"][0]
    assert first[1] + first[3] < HEIGHT
    width, height, rows = read_png(shot, int(first[1] + first[3]) + 1)
    assert (width, height) == (WIDTH, HEIGHT)
    x, y, w, h = m["badge"]
    assert w > 30 and h > 10 and 0 <= y and y + h < 200  # at the top, in view
    inside = pixels(rows, m["badge"])
    assert sum(near(p, (227, 246, 227)) for p in inside) > 0.5 * len(inside)  # the badge is painted
    chart = pixels(rows, first)
    assert sum(near(p, (0xdc, 0x26, 0x26), 30) for p in chart) > 100  # its p99 line is drawn
    assert sum(near(p, (0x05, 0x96, 0x69), 30) for p in chart) > 20  # and the "recovered" mark
