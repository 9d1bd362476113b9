import NIOCore

/// The targets' gate gauges (time left in a rate-limit pause, today's spend, budget spent), written at each
/// scrape straight from the gates' status: read at that moment, and gone with a target a reload removed.
enum GateGaugeExposition {
    private typealias M = MetricCatalog

    /// The three families, in parts, from `statuses`.
    static func parts(_ statuses: [TargetGate.Status]) -> [ExpositionPart] {
        guard !statuses.isEmpty else { return [] }
        let rows = statuses.map { Row(status: $0, labels: exposedLabelBytes($0.labels)) }
        let closing = RenderedBytes(["} "])
        return familyParts(FamilyName(M.backoffRemaining), type: "gauge", rows: rows, closing: closing) { $0.status.backoffRemaining }
            + familyParts(FamilyName(M.dailyCost), type: "gauge", rows: rows, closing: closing) { $0.status.priced ? $0.status.spentToday : nil }
            + familyParts(FamilyName(M.budgetExhausted), type: "gauge", rows: rows, closing: closing) {
                $0.status.hasBudget ? ($0.status.budgetExhausted ? 1 : 0) : nil
            }
    }

    private struct Row: ExposedRow {
        var status: TargetGate.Status
        var labels: [UInt8]
    }
}
