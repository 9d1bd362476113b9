import NIOCore
import Prometheus

/// The targets' gate gauges (time left in a rate-limit pause, today's spend, budget spent), written at each
/// scrape straight from the gates' status: read at that moment, and gone with a target a reload removed.
enum GateGaugeExposition {
    private typealias M = MetricCatalog

    /// The three families, in parts, from `statuses`.
    static func parts(_ statuses: [TargetGate.Status]) -> [ExpositionPart] {
        guard !statuses.isEmpty else { return [] }
        let rows = statuses.map { Row(status: $0, labels: exposedLabelBytes($0.labels)) }
        let closing = RenderedBytes(["} "])
        /// One family: `value` gives a gate's value, if it has one.
        func family(_ descriptor: MetricNameDescriptor, _ value: @escaping @Sendable (TargetGate.Status) -> Double?) -> [ExpositionPart] {
            familyParts(FamilyName(descriptor), type: "gauge", rows: rows) { row, line in
                if let value = value(row.status) { line(closing[0], value) }
            }
        }
        return family(M.backoffRemaining) { $0.backoffRemaining }
            + family(M.dailyCost) { $0.priced ? $0.spentToday : nil }
            + family(M.budgetExhausted) { $0.hasBudget ? ($0.budgetExhausted ? 1 : 0) : nil }
    }

    private struct Row: ExposedRow {
        var status: TargetGate.Status
        var labels: [UInt8]
    }
}
