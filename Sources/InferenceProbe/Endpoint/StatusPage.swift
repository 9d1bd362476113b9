import Foundation

/// The HTML status page at `/`: per target, the transports side by side (the comparison people make when
/// they choose one), from the window statistics, with each transport's availability per window, its last
/// failure and a sparkline of its time to first token over the longest window. Self-contained (inline
/// CSS and SVG, no scripts or external assets) and refreshing itself every 10 seconds.
public struct StatusPage: Sendable {
    let board: ProbeStatusBoard
    let statistics: WindowedStatistics

    public init(board: ProbeStatusBoard, statistics: WindowedStatistics) {
        self.board = board
        self.statistics = statistics
    }

    public func render(now: ProbeInstant = .now, date: Date = Date()) -> String {
        let longest = statistics.windows.last ?? .seconds(3600)
        let longestLabel = WindowedStatistics.label(longest)
        var html = """
            <!doctype html>
            <html lang="en"><head><meta charset="utf-8"><meta http-equiv="refresh" content="10">
            <meta name="viewport" content="width=device-width, initial-scale=1">
            <title>inference-probe status</title>
            <style>\(Self.style)</style></head><body>
            <h1>inference-probe status</h1>
            <p class="meta">inference-probe \(escape(BuildInfo.version)) · \(escape(Self.timestamp(date))) · figures over the last \(longestLabel) of successful probes · refreshes every 10 s · <a href="metrics">metrics</a></p>

            """
        let snapshot = board.snapshot()
        var targets: [String] = []
        for (key, _) in snapshot where !targets.contains(key.target) { targets.append(key.target) }
        for target in targets {
            let rows = snapshot.filter { $0.key.target == target }
            let first = rows[0].key
            html += """
                <section class="target" data-target="\(escape(target))">
                <h2>\(escape(target)) <small>\(escape(first.model)) · \(escape(first.api))</small></h2>
                <table class="comparison" data-target="\(escape(target))">
                <thead><tr><th>transport</th><th>TTFT p50</th><th>TTFT p99</th><th>TTFT σ</th><th>inter-token p50</th>\
                <th>tokens/s p50</th><th>connect (cold)</th>\(statistics.windows.map { "<th>available \(WindowedStatistics.label($0))</th>" }.joined())\
                <th>probes</th><th>last</th><th>last failure</th><th>TTFT, last \(longestLabel)</th></tr></thead>
                <tbody>

                """
            for (key, entry) in rows {
                html += row(key, entry, longest: longest, now: now)
            }
            html += "</tbody></table></section>\n"
        }
        return html + "</body></html>\n"
    }

    private func row(_ key: SeriesKey, _ entry: ProbeStatusBoard.Entry?, longest: Duration, now: ProbeInstant) -> String {
        // One snapshot per window; the figures come from the longest (the last), availability from each.
        let snapshots = statistics.windows.map { statistics.snapshot(key, window: $0, now: now) }
        let window = snapshots.last ?? statistics.snapshot(key, window: longest, now: now)
        let ttft = window.timeToFirstToken
        var cells = [
            cell("ttft-p50", milliseconds(ttft?.p50)), cell("ttft-p99", milliseconds(ttft?.p99)),
            cell("ttft-stddev", milliseconds(ttft?.stddev)), cell("itl-p50", milliseconds(window.interTokenLatency?.p50)),
            cell("tokens-per-second", window.tokensPerSecond.map { String(format: "%.0f", $0.p50) } ?? "–"),
            cell("connect", milliseconds(window.connectionSetup?.mean)),
        ]
        for availability in snapshots.map(\.availability) {
            cells.append(cell("availability", availability.map { String(format: "%.1f %%", $0 * 100) } ?? "–"))
        }
        let outcome = entry?.result.outcome.rawValue ?? "–"
        cells.append(cell("probes", entry.map { "\($0.probes)" } ?? "0"))
        cells.append("<td class=\"outcome \(outcome == "success" ? "ok" : "bad")\">\(escape(outcome))\(pauseNote(entry))</td>")
        let failure = entry?.lastFailure.map { "\($0.outcome.rawValue) at \(Self.timestamp($0.at)): \($0.detail)" } ?? "none"
        cells.append("<td class=\"failure\">\(escape(failure))</td>")
        cells.append("<td>\(sparkline(key, window: longest, now: now))</td>")
        return "<tr class=\"transport\" data-transport=\"\(escape(key.transport))\"><th>\(escape(key.transport))</th>"
            + cells.joined() + "</tr>\n"
    }

    private func pauseNote(_ entry: ProbeStatusBoard.Entry?) -> String {
        switch entry?.paused {
        case .rateLimited?: " <span class=\"note\">paused: backing off after a rate limit</span>"
        case .budget?: " <span class=\"note\">paused until 00:00 UTC: daily budget spent</span>"
        case nil: ""
        }
    }

    /// An inline SVG polyline of the TTFT of every successful probe in the window, oldest on the left.
    private func sparkline(_ key: SeriesKey, window: Duration, now: ProbeInstant) -> String {
        let trail = statistics.timeToFirstTokenTrail(key, window: window, now: now)
        let (width, height) = (160.0, 32.0)
        var svg = "<svg class=\"sparkline\" data-transport=\"\(escape(key.transport))\" width=\"160\" height=\"32\" viewBox=\"0 0 160 32\" role=\"img\" aria-label=\"time to first token, last \(WindowedStatistics.label(window))\">"
        if let low = trail.map(\.value).min(), let high = trail.map(\.value).max(), let oldest = trail.first, trail.count >= 2 {
            // Across the time the trail covers (the whole window once the sidecar has run that long).
            let (span, duration) = (max(high - low, 1e-6), max(oldest.age, 1))
            let points = trail.map { point in
                let x = width * (1 - point.age / duration)
                let y = height - 2 - (height - 4) * (point.value - low) / span
                return String(format: "%.1f,%.1f", x, y)
            }
            svg += "<polyline fill=\"none\" stroke=\"#3366cc\" stroke-width=\"1.5\" points=\"\(points.joined(separator: " "))\"/>"
            svg += "<title>\(milliseconds(low)) – \(milliseconds(high))</title>"
        }
        return svg + "</svg>"
    }

    private func cell(_ name: String, _ text: String) -> String {
        "<td class=\"\(name)\">\(escape(text))</td>"
    }

    private func milliseconds(_ seconds: Double?) -> String {
        guard let seconds else { return "–" }
        return seconds < 0.01 ? String(format: "%.2f ms", seconds * 1000) : String(format: "%.0f ms", seconds * 1000)
    }

    private func escape(_ text: String) -> String {
        text.escaped(["&": "&amp;", "<": "&lt;", ">": "&gt;", "\"": "&quot;", "'": "&#39;"])
    }

    private static func timestamp(_ date: Date) -> String {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime]
        return formatter.string(from: date)
    }

    private static let style = """
        body{font:14px/1.4 system-ui,sans-serif;margin:1.5em;color:#222}h1{font-size:1.4em;margin:0}\
        .meta{color:#666}h2{font-size:1.15em;margin:1.2em 0 .4em}h2 small{color:#666;font-weight:normal}\
        table{border-collapse:collapse}th,td{padding:.25em .6em;border-bottom:1px solid #ddd;text-align:right;white-space:nowrap}\
        thead th{background:#f3f3f3;font-weight:600}tbody th{text-align:left}td.failure{text-align:left;white-space:normal;max-width:28em;color:#555}\
        td.ok{color:#1a7f37}td.bad{color:#c62828;font-weight:600}.note{display:block;font-weight:normal;color:#b26a00}
        """
}
