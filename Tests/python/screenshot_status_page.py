#!/usr/bin/env python3
"""Takes a PNG screenshot of the HTML status page of `inference-probe demo` (not a test).

Starts the demo with its status page on a free loopback port, lets it probe for a while so that the
statistics windows and the sparklines fill, then loads the page in headless Chromium (Debian's chromium
and chromium-driver, as the tests use) and saves the whole page as a PNG.

    .build/test-venv/bin/python Tests/python/screenshot_status_page.py [--binary PATH] [--wait 70] [OUT.png]

The binary defaults to $INFERENCE_PROBE_BIN, then .build/debug/inference-probe; OUT.png defaults to
docs/status-page.png (relative paths are taken from the repository root).
"""
import argparse
import base64
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CHROMEDRIVER = "/usr/bin/chromedriver"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_demo(binary: str, port: int) -> subprocess.Popen:
    proc = subprocess.Popen([binary, "demo", "--web.listen-address", f"127.0.0.1:{port}", "--interval", "1s"],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    ready = threading.Event()

    def drain():  # read the demo's output so that it never blocks on a full pipe
        for line in proc.stdout:
            if re.search(r"metrics:\s+http://\S+/metrics", line):
                ready.set()

    threading.Thread(target=drain, daemon=True).start()
    deadline = time.monotonic() + 30
    while not ready.wait(0.2):
        if proc.poll() is not None:
            sys.exit(f"the demo exited with status {proc.returncode}")
        if time.monotonic() > deadline:
            proc.kill()
            sys.exit("the demo did not announce its metrics address within 30 s")
    return proc


def start_chromium(width: int, height: int):
    browser = shutil.which("chromium")
    if not browser or not os.access(CHROMEDRIVER, os.X_OK):
        sys.exit("chromium or chromedriver not found: apt-get install chromium chromium-driver")
    from selenium import webdriver
    from selenium.webdriver.chrome.options import Options
    from selenium.webdriver.chrome.service import Service

    options = Options()
    for argument in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                     "--hide-scrollbars", f"--window-size={width},{height}"):
        options.add_argument(argument)
    options.binary_location = browser
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(15)
    return driver


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("output", nargs="?", default="docs/status-page.png", help="PNG to write")
    parser.add_argument("--binary", default=os.environ.get("INFERENCE_PROBE_BIN",
                                                           str(ROOT / ".build" / "debug" / "inference-probe")))
    parser.add_argument("--wait", type=float, default=70, help="seconds of probing before the screenshot")
    parser.add_argument("--width", type=int, default=1400)
    parser.add_argument("--height", type=int, default=1000)
    args = parser.parse_args()

    if not Path(args.binary).is_file():
        sys.exit(f"{args.binary} not found: run `swift build` or pass --binary")
    output = Path(args.output)
    if not output.is_absolute():
        output = ROOT / output

    port = free_port()
    url = f"http://127.0.0.1:{port}/"
    demo = start_demo(args.binary, port)
    driver = None
    try:
        print(f"demo running at {url}; waiting {args.wait:.0f} s for the windows and sparklines to fill",
              flush=True)
        time.sleep(args.wait)
        request = urllib.request.Request(url, headers={"Accept": "text/html"})
        with urllib.request.urlopen(request, timeout=5) as response:
            content_type = response.headers.get("Content-Type", "")
        if not content_type.startswith("text/html"):
            print(f"warning: {url} answers text/html requests with {content_type!r}", file=sys.stderr)

        driver = start_chromium(args.width, args.height)
        # The window size includes the (invisible) browser frame: make the page's viewport exactly the size.
        driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", {
            "width": args.width, "height": args.height, "deviceScaleFactor": 1, "mobile": False})
        driver.get(url)  # a fresh load, so the page's own 10 s refresh does not fire mid-capture
        driver.execute_script("return document.fonts ? document.fonts.ready : null")
        metrics = driver.execute_cdp_cmd("Page.getLayoutMetrics", {})
        size = metrics.get("cssContentSize") or metrics["contentSize"]
        viewport = metrics.get("cssLayoutViewport") or metrics["layoutViewport"]
        width = max(int(viewport["clientWidth"]), int(size["width"]))
        height = max(int(viewport["clientHeight"]), int(size["height"]))
        shot = driver.execute_cdp_cmd("Page.captureScreenshot", {
            "format": "png", "captureBeyondViewport": True,
            "clip": {"x": 0, "y": 0, "width": width, "height": height, "scale": 1},
        })
        output.parent.mkdir(parents=True, exist_ok=True)
        output.write_bytes(base64.b64decode(shot["data"]))
        print(f"wrote {output} ({width}x{height} CSS px)")
    finally:
        if driver is not None:
            driver.quit()
        demo.send_signal(signal.SIGTERM)
        try:
            demo.wait(timeout=20)
        except subprocess.TimeoutExpired:
            demo.kill()


if __name__ == "__main__":
    main()
