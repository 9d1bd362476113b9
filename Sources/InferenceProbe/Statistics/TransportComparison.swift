import Foundation

/// The comparison table of `inference-probe compare`: for one target, each transport's TTFT, inter-token
/// latency, speed, the time a 1,000-token answer takes, connection overhead cold and warm, success rate
/// and errors, and optionally TTFT p95 and error rate at several concurrency levels.
public struct TransportComparison: Sendable, Codable {
    public struct Row: Sendable, Codable {
        public var transport: String
        public var probes: Int
        public var successRate: Double
        /// Seconds (nil without a streamed success).
        public var ttftP50: Double?
        public var ttftP95: Double?
        public var ttftStddev: Double?
        public var interTokenP50: Double?
        public var tokensPerSecond: Double?
        /// Seconds for a 1,000-token answer: measured when answers were that long, else TTFT p50 + 999 / tokens/s.
        public var thousandTokens: Double?
        public var thousandTokensMeasured: Bool
        /// Mean connection setup of probes that opened a connection, and of those that reused one (0) if any did.
        public var connectCold: Double?
        public var connectWarm: Double?
        public var errors: [String: Int]
    }

    public struct ConcurrencyRow: Sendable, Codable {
        public var transport: String
        public var concurrency: Int
        public var probes: Int
        public var ttftP95: Double?
        public var errorRate: Double
    }

    public var target: String
    public var model: String
    public var api: String
    public var rows: [Row]
    public var concurrency: [ConcurrencyRow]

    /// Builds the table from the results of each transport (in order) and of each concurrency level.
    public init(target: TargetConfig, results: [(transport: String, results: [ProbeResult])],
                concurrency: [(transport: String, level: Int, results: [ProbeResult])] = []) {
        self.target = target.name
        self.model = target.model
        self.api = target.api
        self.rows = results.map { Self.row($0.transport, $0.results) }
        self.concurrency = concurrency.map { transport, level, results in
            let ttft = results.compactMap { ProbeMeasurement($0).timeToFirstToken }.sorted()
            let failures = results.filter { $0.outcome != .success }.count
            return ConcurrencyRow(transport: transport, concurrency: level, probes: results.count,
                                  ttftP95: ttft.isEmpty ? nil : SampleSummary.percentile(ttft, 95),
                                  errorRate: results.isEmpty ? 0 : Double(failures) / Double(results.count))
        }
    }

    private static func row(_ transport: String, _ results: [ProbeResult]) -> Row {
        let measured = results.map { ($0, ProbeMeasurement($0)) }
        let successes = measured.filter { $0.0.outcome == .success }
        let ttft = successes.compactMap(\.1.timeToFirstToken).sorted()
        let rate = SampleSummary(successes.compactMap(\.1.outputTokensPerSecond))
        let ttftSummary = SampleSummary(ttft)
        let longAnswers = successes.filter { $0.1.outputTokens >= 1000 }.compactMap(\.1.duration)
        var thousand: Double?
        if let measuredLong = SampleSummary(longAnswers) {
            thousand = measuredLong.p50
        } else if let rate, rate.p50 > 0 {
            // No answer that long: the first token's wait plus 999 more at the measured speed (without
            // streaming the speed already includes the wait: tokens / duration).
            thousand = ttftSummary.map { $0.p50 + 999 / rate.p50 } ?? 1000 / rate.p50
        }
        var errors: [String: Int] = [:]
        for (result, _) in measured where result.outcome != .success { errors[result.outcome.rawValue, default: 0] += 1 }
        let reused = measured.filter { $0.0.connectionReused }
        return Row(
            transport: transport, probes: results.count,
            successRate: results.isEmpty ? 0 : Double(successes.count) / Double(results.count),
            ttftP50: ttftSummary?.p50, ttftP95: ttft.isEmpty ? nil : SampleSummary.percentile(ttft, 95),
            ttftStddev: ttftSummary?.stddev, interTokenP50: SampleSummary(successes.flatMap(\.1.interTokenLatencies))?.p50,
            tokensPerSecond: rate?.p50, thousandTokens: thousand, thousandTokensMeasured: !longAnswers.isEmpty,
            connectCold: SampleSummary(measured.compactMap(\.1.connectionSetup))?.mean,
            connectWarm: reused.isEmpty ? nil : 0, errors: errors)
    }

    /// The output formats of `compare`.
    public enum Format: String, Sendable, CaseIterable {
        case table, markdown, json
    }

    public func render(_ format: Format) -> String {
        switch format {
        case .json:
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            return String(decoding: (try? encoder.encode(self)) ?? Data(), as: UTF8.self) + "\n"
        case .table, .markdown:
            return tables(markdown: format == .markdown)
        }
    }

    private func tables(markdown: Bool) -> String {
        var text = "\(target) · \(model) · \(api)\n\n"
        var rows = [["transport", "probes", "success", "TTFT p50", "TTFT p95", "TTFT σ", "inter-token p50", "tokens/s",
                     "1K tokens", "connect cold", "connect warm", "errors"]]
        for row in self.rows {
            let errors = row.errors.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", ")
            rows.append([
                row.transport, "\(row.probes)", String(format: "%.1f%%", row.successRate * 100),
                Self.ms(row.ttftP50), Self.ms(row.ttftP95), Self.ms(row.ttftStddev), Self.ms(row.interTokenP50),
                row.tokensPerSecond.map { String(format: "%.0f", $0) } ?? "–",
                row.thousandTokens.map { String(format: "%.2f s", $0) + (row.thousandTokensMeasured ? "" : " (extrapolated)") } ?? "–",
                Self.ms(row.connectCold), row.connectWarm.map { _ in "0 (reused)" } ?? "– (new per probe)",
                errors.isEmpty ? "none" : errors,
            ])
        }
        text += Self.layout(rows, markdown: markdown)
        guard !concurrency.isEmpty else { return text }
        var levels = [["transport", "concurrency", "probes", "TTFT p95", "error rate"]]
        for row in concurrency {
            levels.append([row.transport, "\(row.concurrency)", "\(row.probes)", Self.ms(row.ttftP95),
                           String(format: "%.1f%%", row.errorRate * 100)])
        }
        return text + "\n" + Self.layout(levels, markdown: markdown)
    }

    private static func ms(_ seconds: Double?) -> String {
        guard let seconds else { return "–" }
        return String(format: seconds < 0.01 ? "%.2f ms" : "%.1f ms", seconds * 1000)
    }

    /// Aligned text columns, or a Markdown table.
    private static func layout(_ rows: [[String]], markdown: Bool) -> String {
        if markdown {
            let header = "| " + rows[0].joined(separator: " | ") + " |\n|" + String(repeating: " --- |", count: rows[0].count) + "\n"
            return header + rows.dropFirst().map { "| " + $0.joined(separator: " | ") + " |" }.joined(separator: "\n") + "\n"
        }
        return TextColumns.lines(rows).joined(separator: "\n") + "\n"
    }
}
