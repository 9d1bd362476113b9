import Foundation

/// The answer of `/probe`: the figures of the probes just run, as gauges in the Prometheus text format,
/// named as blackbox_exporter names its own (`probe_success`, `probe_duration_seconds`) plus
/// `probe_inference_*` for what only an inference probe measures. Every series carries `model`, `api` and
/// `transport`; Prometheus adds the target as `instance` through relabeling.
public enum OnDemandExposition {
    public static let contentType = "text/plain; version=0.0.4; charset=utf-8"

    /// One metric family: its samples' lines, written as they are added.
    private struct Family {
        let name: String
        let help: String
        var lines: [UInt8] = []
    }

    /// The text exposition of `reports`: each family once, with its samples in the order of the reports.
    public static func render(_ reports: [OnDemandProber.Report]) -> [UInt8] {
        var families: [Family] = []
        /// A sample: `labels` are the report's, written once per report; `extra`, a label of this sample's own.
        func add(_ name: String, _ help: String, _ labels: [UInt8], _ value: Double?, label extra: (String, String)? = nil) {
            guard let value else { return }
            let index = families.firstIndex { $0.name == name } ?? {
                families.append(Family(name: name, help: help))
                return families.count - 1
            }()
            families[index].lines.append(contentsOf: name.utf8)
            families[index].lines.append(UInt8(ascii: "{"))
            families[index].lines.append(contentsOf: labels)
            if let extra {
                families[index].lines.append(UInt8(ascii: ","))
                families[index].lines.append(contentsOf: exposedLabelBytes([extra]))
            }
            families[index].lines.append(contentsOf: "} ".utf8)
            families[index].lines.append(contentsOf: format(value).utf8)
            families[index].lines.append(UInt8(ascii: "\n"))
        }
        for report in reports {
            let key = report.key
            let labels = exposedLabelBytes([("model", key.model), ("api", key.api), ("transport", key.transport)])
            switch report {
            case .skipped(_, let reason):
                add("probe_success", "1 if the probe succeeded, 0 otherwise.", labels, 0)
                add("probe_inference_skipped", "1 when the probe was not sent, by reason: the target is paused.",
                    labels, 1, label: ("reason", reason.rawValue))
            case .probed(let result):
                let m = ProbeMeasurement(result)
                let t = result.timeline
                add("probe_success", "1 if the probe succeeded, 0 otherwise.", labels, result.outcome == .success ? 1 : 0)
                add("probe_duration_seconds", "Wall time of the whole probe, connection included.", labels,
                    t.ended.map { $0.seconds(since: t.started) })
                add("probe_inference_outcome", "1 for the outcome of the probe.", labels, 1, label: ("outcome", result.outcome.rawValue))
                if let status = result.httpStatus {
                    add("probe_inference_http_status_code", "HTTP status of the response.", labels, Double(status))
                }
                for phase in m.connectionPhases {
                    add("probe_inference_connection_phase_seconds", "Duration of each connection phase.",
                        labels, phase.seconds, label: ("phase", phase.name))
                }
                add("probe_inference_time_to_first_byte_seconds", "Request start to the first response byte.", labels, m.timeToFirstByte)
                add("probe_inference_time_to_first_token_seconds", "Request start to the first chunk of output text.",
                    labels, m.timeToFirstToken)
                add("probe_inference_request_duration_seconds", "Request start to the end of the response.", labels, m.duration)
                add("probe_inference_inter_token_latency_seconds", "Mean gap between output chunks.", labels,
                    m.interTokenLatencies.isEmpty ? nil : m.interTokenLatencies.reduce(0, +) / Double(m.interTokenLatencies.count))
                add("probe_inference_output_tokens", "Output tokens of the answer.", labels,
                    result.outcome == .success ? Double(m.outputTokens) : nil)
                add("probe_inference_output_tokens_per_second", "Generation speed of the answer.", labels, m.outputTokensPerSecond)
            }
        }
        var text: [UInt8] = []
        text.reserveCapacity(families.reduce(0) { $0 + $1.lines.count + 2 * $1.name.utf8.count + $1.help.utf8.count + 24 })
        for family in families {
            // Appended piece by piece: an interpolated String is built by as many String appends, each dear.
            text.append(contentsOf: "# HELP ".utf8)
            text.append(contentsOf: family.name.utf8)
            text.append(UInt8(ascii: " "))
            text.append(contentsOf: family.help.utf8)
            text.append(contentsOf: "\n# TYPE ".utf8)
            text.append(contentsOf: family.name.utf8)
            text.append(contentsOf: " gauge\n".utf8)
            text.append(contentsOf: family.lines)
        }
        return text
    }

    /// What `debug=true` shows: per probe, the timeline from its start, the outcome and the log lines a
    /// scheduled probe would write, then the metrics.
    public static func debug(_ reports: [OnDemandProber.Report], target: String) -> String {
        var text = ""
        for report in reports {
            let key = report.key
            text += "Probe of target \(target) (model \(key.model), api \(key.api)) over \(key.transport)\n"
            switch report {
            case .skipped(_, let reason):
                text += "Log:\n  level=warning msg=\"probe not sent: the target is paused\" reason=\(reason.rawValue)\n\n"
            case .probed(let result):
                let t = result.timeline
                func line(_ label: String, _ instant: ProbeInstant?) -> String {
                    guard let instant else { return "" }
                    let ms = instant.seconds(since: t.started) * 1000
                    return "  " + label.padding(toLength: 18, withPad: " ", startingAt: 0) + String(format: "%.3f", ms) + " ms\n"
                }
                text += "Timeline (since the probe started):\n"
                text += line("resolved", t.resolved) + line("connected", t.connected) + line("proxy tunnelled", t.proxyTunnelled)
                text += line("tls established", t.tlsEstablished) + line("upgraded", t.upgraded)
                text += line("request started", t.requestStarted) + line("request written", t.requestWritten)
                text += line("first byte", t.firstByte) + line("first token", t.tokens.first)
                if t.tokens.count > 1 { text += line("last token", t.tokens.last) }
                text += line("ended", t.ended)
                text += "  content chunks    \(result.contentChunks)\n"
                text += "  connection        \(result.connectionReused ? "reused" : "new")\n"
                text += "Log:\n"
                let level = result.outcome == .success ? "info" : "warning"
                let message = result.outcome == .success ? "probe succeeded" : "probe failed"
                text += "  level=\(level) msg=\"\(message)\" outcome=\(result.outcome.rawValue)"
                if let status = result.httpStatus { text += " status=\(status)" }
                if let detail = result.detail { text += " detail=\"\(detail.labelValueEscaped)\"" }
                text += "\n\n"
            }
        }
        return text + "Metrics:\n" + String(decoding: render(reports), as: UTF8.self)
    }

    private static func format(_ value: Double) -> String {
        if value == value.rounded(), abs(value) < 1e15 { return String(Int(value)) }
        return String(value)
    }
}
