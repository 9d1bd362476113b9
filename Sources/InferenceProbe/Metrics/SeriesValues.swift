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

    /// The families in the text format, in parts, with the series that have a value now.
    func parts() -> [ExpositionPart] {
        let rows = table.withLockedValue { $0.rows }
        let closings = closings
        /// One family: `value` gives a row's value, if it has one.
        func family(_ descriptor: MetricNameDescriptor, _ type: String,
                    _ value: @escaping @Sendable (Values) -> Double?) -> [ExpositionPart] {
            familyParts(FamilyName(descriptor), type: type, rows: rows) { row, line in
                if let value = value(row.value) { line(closings[0], value) }
            }
        }
        return family(M.outputTokens, "counter") { Double($0.outputTokens) }
            + family(M.inputTokens, "counter") { Double($0.inputTokens) }
            + family(M.cost, "counter") { $0.cost }
            + family(M.lastSuccess, "gauge") { $0.lastSuccess }
            + family(M.lastTimestamp, "gauge") { $0.lastTimestamp }
            + familyParts(FamilyName(M.connectionPhase), type: "gauge", rows: rows,
                          linesPerRow: ConnectionPhase.names.count) { row, line in
                for (number, seconds) in row.value.phases.enumerated() {
                    if let seconds { line(closings[number + 1], seconds) }
                }
            }
    }
}
