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
    func labelSets() -> SeriesLabelSets {
        table.withLockedValue { SeriesLabelSets(positions: $0.positions(), sets: $0.labels) }
    }

    /// The families in the text format, in parts, with the series that have a value now.
    func parts() -> [ExpositionPart] {
        let table = table.withLockedValue { $0 }
        let (rows, labels, closings) = (table.rows, table.labels, closings)
        return familyParts(FamilyName(M.outputTokens), type: "counter", labels: labels, closing: closings) { Double(rows[$0].value.outputTokens) }
            + familyParts(FamilyName(M.inputTokens), type: "counter", labels: labels, closing: closings) { Double(rows[$0].value.inputTokens) }
            + familyParts(FamilyName(M.cost), type: "counter", labels: labels, closing: closings) { rows[$0].value.cost }
            + familyParts(FamilyName(M.lastSuccess), type: "gauge", labels: labels, closing: closings) { rows[$0].value.lastSuccess }
            + familyParts(FamilyName(M.lastTimestamp), type: "gauge", labels: labels, closing: closings) { rows[$0].value.lastTimestamp }
            + familyParts(FamilyName(M.connectionPhase), type: "gauge", labels: labels,
                          linesPerRow: ConnectionPhase.names.count) { row, line in
                for number in ConnectionPhase.names.indices {
                    if let seconds = rows[row].value.phases[number] { line(closings[number + 1], seconds) }
                }
            }
    }
}

/// The label sets of the series a table has, and where each key's is.
struct SeriesLabelSets: Sendable {
    let positions: [SeriesKey: Int]
    let sets: LabelSets
}
