"""The status page at `/` as a browser sees it: a real headless Chromium (Debian's chromium and
chromium-driver, driven by selenium) loads the demo sidecar's page and finds the per-target comparison
table, one row per transport with TTFT figures and an inline sparkline, no external assets and a meta
refresh; clients that do not ask for HTML (curl, Prometheus-style tools) still get plain text."""
import json
import os
import re
import shutil
import time
import urllib.request

import pytest

TARGET = "simulator"
TRANSPORTS = ("http", "http_sse", "websocket")
STREAMING = ("http_sse", "websocket")  # the transports whose probes have a time to first token
CHROMEDRIVER = "/usr/bin/chromedriver"

# One consistent snapshot of everything the test looks at, taken inside the page in a single script so
# that a meta refresh between two selenium calls cannot leave it half old, half new.
SNAPSHOT = r"""
const text = el => (el ? el.textContent.replace(/\s+/g, ' ').trim() : '');
const out = {
  contentType: document.contentType,
  readyState: document.readyState,
  title: document.title,
  refresh: [...document.querySelectorAll('meta')]
    .filter(m => (m.getAttribute('http-equiv') || '').toLowerCase() === 'refresh')
    .map(m => m.getAttribute('content')),
  assets: [],
  fetched: performance.getEntriesByType('resource').map(e => e.name),
  sections: [...document.querySelectorAll('section.target')].map(s => s.dataset.target),
  tables: [...document.querySelectorAll('table.comparison')].map(t => t.dataset.target),
  inSection: !!document.querySelector(
    `section.target[data-target="${TARGET}"] table.comparison[data-target="${TARGET}"]`),
  columns: [],
  rows: [],
};
for (const [selector, attribute] of [['script', 'src'], ['link', 'href'], ['img', 'src']]) {
  for (const el of document.querySelectorAll(selector)) {
    if (el.hasAttribute(attribute)) out.assets.push(`<${selector} ${attribute}="${el.getAttribute(attribute)}">`);
  }
}
const table = document.querySelector(`table.comparison[data-target="${TARGET}"]`);
if (table) {
  // Header text per column, with colspan/rowspan expanded, so that a grouped header such as
  // "TTFT" over "p50 | p99 | stddev" yields "TTFT p50" for the first of the three columns.
  const headerRows = [...table.querySelectorAll('tr')].filter(tr => !tr.classList.contains('transport')
    && tr.querySelector('th') && !tr.querySelector('td'));
  const grid = [];
  headerRows.forEach((tr, r) => {
    grid[r] = grid[r] || [];
    let c = 0;
    for (const cell of tr.cells) {
      while (grid[r][c] !== undefined) c++;
      for (let dr = 0; dr < cell.rowSpan; dr++) {
        grid[r + dr] = grid[r + dr] || [];
        for (let dc = 0; dc < cell.colSpan; dc++) grid[r + dr][c + dc] = text(cell);
      }
      c += cell.colSpan;
    }
  });
  const width = Math.max(0, ...grid.map(row => row.length));
  for (let c = 0; c < width; c++) {
    const parts = [];
    for (const row of grid) if (row[c] && parts[parts.length - 1] !== row[c]) parts.push(row[c]);
    out.columns.push(parts.join(' '));
  }
  for (const tr of table.querySelectorAll('tr.transport')) {
    const cells = [];
    for (const cell of tr.cells) for (let i = 0; i < cell.colSpan; i++) cells.push(text(cell));
    out.rows.push({
      transport: tr.dataset.transport,
      cells: cells,
      sparklines: [...tr.querySelectorAll('svg.sparkline')].map(svg => ({
        transport: svg.dataset.transport,
        polylines: [...svg.querySelectorAll('polyline')].map(p => p.points.numberOfItems),
      })),
    });
  }
}
return JSON.stringify(out);
""".replace("${TARGET}", TARGET)


def start_chromium(width: int = 1400, height: int = 1000):
    """Headless Chromium from the Debian packages; fails with the install hint when they are missing."""
    browser = shutil.which("chromium")
    if not browser or not os.access(CHROMEDRIVER, os.X_OK):
        pytest.fail("chromium or chromedriver not found: install the Debian packages chromium and "
                    "chromium-driver (Tests/run does)")
    from selenium import webdriver
    from selenium.webdriver.chrome.options import Options
    from selenium.webdriver.chrome.service import Service

    options = Options()
    for argument in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                     f"--window-size={width},{height}"):
        options.add_argument(argument)
    options.binary_location = browser
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(15)
    return driver


@pytest.fixture
def chromium():
    driver = start_chromium()
    yield driver
    driver.quit()


def ttft_p50_column(columns: list[str]) -> int | None:
    """Index of the first column whose (combined) header names the TTFT median."""
    for index, header in enumerate(columns):
        if re.search(r"ttft|time to first token", header, re.I) and re.search(r"p50|median", header, re.I):
            return index
    return None


def number(cell: str) -> float | None:
    match = re.search(r"[-+]?\d+(?:[.,]\d+)?", cell)
    return float(match.group().replace(",", ".")) if match else None


def problems(page: dict) -> list[str]:
    """Everything about one snapshot of the page that does not (yet) match the spec; empty when it does."""
    found = []
    if page["contentType"] != "text/html":
        return [f"the browser got {page['contentType']}, not text/html"]
    if page["title"].strip() != "inference-probe status":
        found.append(f"title is {page['title']!r}, not 'inference-probe status'")
    if len(page["refresh"]) != 1 or not re.fullmatch(r"\s*10\s*(;.*)?", page["refresh"][0] or ""):
        found.append(f'want one <meta http-equiv="refresh" content="10">, got contents {page["refresh"]}')
    external = [asset for asset in page["assets"] if not re.search(r'="\s*data:', asset, re.I)]
    if external:
        found.append(f"external assets (only data: URLs are allowed, the page must work offline): {external}")
    # Chromium asks for /favicon.ico by itself when the page names no icon; that is not the page's doing.
    fetched = [url for url in page["fetched"] if not url.startswith("data:") and not url.endswith("/favicon.ico")]
    if fetched:
        found.append(f"the page fetched resources, so it would not work offline: {fetched}")
    if TARGET not in page["sections"]:
        found.append(f'no <section class="target" data-target="{TARGET}">; sections: {page["sections"]}')
    if TARGET not in page["tables"]:
        found.append(f'no <table class="comparison" data-target="{TARGET}">; tables: {page["tables"]}')
        return found
    if not page["inSection"]:
        found.append(f"the {TARGET} comparison table is not inside the {TARGET} target section")
    transports = [row["transport"] for row in page["rows"]]
    if sorted(transports) != sorted(TRANSPORTS):
        found.append(f"want one tr.transport per transport {list(TRANSPORTS)}, got {transports}")
    column = ttft_p50_column(page["columns"])
    if column is None:
        found.append(f"no TTFT p50 column among the headers {page['columns']}")
    for row in page["rows"]:
        name = row["transport"]
        sparklines = [s for s in row["sparklines"] if s["transport"] == name]
        if not sparklines:  # every row has one; only the streaming transports have points to draw
            found.append(f"{name}: no svg.sparkline[data-transport={name}] in its row: {row['sparklines']}")
        if name not in STREAMING:
            continue
        if column is not None:
            cell = row["cells"][column] if column < len(row["cells"]) else ""
            value = number(cell)
            in_ms = "ms" in cell or re.search(r"\bms\b|millisecond", page["columns"][column])
            if value is None or not in_ms:
                found.append(f"{name}: TTFT p50 cell {cell!r} (header {page['columns'][column]!r}) "
                             f"is not a number of ms")
            elif not 100 <= value <= 500:  # the demo's TTFT is 200 ms +- 20 ms
                found.append(f"{name}: TTFT p50 {value} ms is not the demo's ~200 ms")
        if sparklines and not any(points >= 2 for s in sparklines for points in s["polylines"]):
            found.append(f"{name}: the sparkline has no polyline of 2 or more points: {sparklines}")
    return found


def test_browser_sees_the_html_status_page(demo, chromium):
    proc, base = demo
    deadline = time.monotonic() + 30
    chromium.get(f"{base}/")
    loaded = time.monotonic()
    while True:
        try:
            page = json.loads(chromium.execute_script(SNAPSHOT))
            found = problems(page) if page["readyState"] == "complete" else ["page still loading"]
        except Exception as error:  # noqa: BLE001 - a meta refresh can swap the document under the script
            page, found = None, [f"snapshot failed: {error!r}"]
        if not found:
            break
        if page and page["readyState"] == "complete" and page["contentType"] != "text/html":
            pytest.fail(f"the browser got {page['contentType']}, not text/html, from {base}/")
        if time.monotonic() > deadline:
            pytest.fail("the status page does not match the spec after 30 s:\n  " + "\n  ".join(found)
                        + f"\nlast snapshot: {json.dumps(page)[:4000]}")
        time.sleep(0.5)
        if time.monotonic() - loaded > 2:  # the windows fill with every probe: look at a fresh page
            chromium.get(f"{base}/")
            loaded = time.monotonic()
    assert proc.proc.poll() is None


def get(url: str, accept: str | None) -> tuple[str, str]:
    request = urllib.request.Request(url, headers={"Accept": accept} if accept else {})
    with urllib.request.urlopen(request, timeout=5) as response:
        return response.headers.get("Content-Type", ""), response.read().decode()


def test_non_browser_clients_still_get_plain_text(demo):
    proc, base = demo
    for accept in (None, "*/*", "text/plain"):  # urllib's default, curl's, an explicit one
        content_type, body = get(f"{base}/", accept)
        assert content_type.startswith("text/plain"), (accept, content_type)
        assert not body.lstrip().startswith("<"), (accept, body[:200])
        assert body.strip(), accept
    content_type, body = get(f"{base}/", "text/html")
    assert content_type.startswith("text/html"), content_type
    assert re.search(r"<table[^>]*class=[\"'][^\"']*\bcomparison\b", body), body[:500]
    assert proc.proc.poll() is None
