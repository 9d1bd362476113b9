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

    /// Each series' label set, as its rows are written with.
    func labelSets() -> [SeriesKey: [UInt8]] {
        let rows = table.withLockedValue { $0.rows }
        return Dictionary(rows.map { ($0.key, $0.labels) }, uniquingKeysWith: { first, _ in first })
    }

    /// The families in the text format, in parts, with the series that have a value now.
    func parts() -> [ExpositionPart] {
        let rows = table.withLockedValue { $0.rows }
        let closings = closings
        return familyParts(FamilyName(M.outputTokens), type: "counter", rows: rows, closing: closings) { Double($0.value.outputTokens) }
            + familyParts(FamilyName(M.inputTokens), type: "counter", rows: rows, closing: closings) { Double($0.value.inputTokens) }
            + familyParts(FamilyName(M.cost), type: "counter", rows: rows, closing: closings) { $0.value.cost }
            + familyParts(FamilyName(M.lastSuccess), type: "gauge", rows: rows, closing: closings) { $0.value.lastSuccess }
            + familyParts(FamilyName(M.lastTimestamp), type: "gauge", rows: rows, closing: closings) { $0.value.lastTimestamp }
            + familyParts(FamilyName(M.connectionPhase), type: "gauge", rows: rows,
                          linesPerRow: ConnectionPhase.names.count) { row, line in
                for (number, seconds) in row.value.phases.enumerated() {
                    if let seconds { line(closings[number + 1], seconds) }
                }
            }
    }
}
