import NIOConcurrencyHelpers
import NIOCore
import Prometheus

/// The per-series values each probe sets or adds to: its token and cost counters, whether and when the last
/// probe finished, the phases of the last connection opened. Kept in one row per series and written into the
/// exposition directly, as the outcome counters and histograms are: in swift-prometheus's registry they were
/// ten label sets per series, each looked up by its labels at every probe, and a fleet's scrape spent a fifth
/// of its time in the registry's `emit`.
final class SeriesValues: Sendable {
    /// One series' values; an optional one is absent from the exposition until first set.
    struct Values: Sendable {
        var outputTokens: UInt64 = 0
        var inputTokens: UInt64 = 0
        var cost: Double?
        var lastSuccess: Double?
        var lastTimestamp: Double?
        /// By `ConnectionPhase.names`.
        var phases = [Double?](repeating: nil, count: ConnectionPhase.names.count)
    }

    private typealias M = MetricCatalog
    private let table = NIOLockedValueBox(SeriesTable<Values>())
    /// `} `, then `,phase="dns"} ` for each phase.
    private let closings = RenderedBytes(["} "] + ConnectionPhase.names.map { ",phase=\"\($0)\"} " })

    /// Gives `key` its counters at 0; a key already known keeps its values.
    func register(_ key: SeriesKey) {
        table.withLockedValue { $0.add(key) { Values() } }
    }

    func forget(_ key: SeriesKey) {
        table.withLockedValue { $0.remove(key) }
    }

    /// Changes the values of `key` (registering it if needed).
    func update(_ key: SeriesKey, _ change: (inout Values) -> Void) {
        table.withLockedValue { $0.update(key, adding: { Values() }, change) }
    }

    /// The families in the text format, each with the series that have a value.
    func write(into buffer: inout ByteBuffer) {
        let rows = table.withLockedValue { $0.rows }
        let noPhase = closings[0]
        buffer.writeFamily(M.outputTokens, type: "counter", rows: rows, labels: \.labels) { row, line in
            line(noPhase, Double(row.value.outputTokens))
        }
        buffer.writeFamily(M.inputTokens, type: "counter", rows: rows, labels: \.labels) { row, line in
            line(noPhase, Double(row.value.inputTokens))
        }
        buffer.writeFamily(M.cost, type: "counter", rows: rows, labels: \.labels) { row, line in
            if let cost = row.value.cost { line(noPhase, cost) }
        }
        buffer.writeFamily(M.lastSuccess, type: "gauge", rows: rows, labels: \.labels) { row, line in
            if let success = row.value.lastSuccess { line(noPhase, success) }
        }
        buffer.writeFamily(M.lastTimestamp, type: "gauge", rows: rows, labels: \.labels) { row, line in
            if let timestamp = row.value.lastTimestamp { line(noPhase, timestamp) }
        }
        buffer.writeFamily(M.connectionPhase, type: "gauge", rows: rows, labels: \.labels) { row, line in
            for (number, seconds) in row.value.phases.enumerated() {
                if let seconds { line(closings[number + 1], seconds) }
            }
        }
    }
}
