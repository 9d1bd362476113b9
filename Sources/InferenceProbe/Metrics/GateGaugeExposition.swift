import NIOCore

/// The targets' gate gauges (time left in a rate-limit pause, today's spend, budget spent), written at each
/// scrape straight from the gates' status: read at that moment, and gone with a target a reload removed.
enum GateGaugeExposition {
    private typealias M = MetricCatalog

    static func write(_ statuses: [TargetGate.Status], into buffer: inout ByteBuffer) {
        guard !statuses.isEmpty else { return }
        let rows = statuses.map { (status: $0, labels: exposedLabelBytes($0.labels)) }
        let closing = RenderedBytes(["} "])
        withExtendedLifetime(closing) {
            buffer.writeFamily(M.backoffRemaining, type: "gauge", rows: rows, labels: \.labels) { row, line in
                line(closing[0], row.status.backoffRemaining)
            }
            buffer.writeFamily(M.dailyCost, type: "gauge", rows: rows, labels: \.labels) { row, line in
                if row.status.priced { line(closing[0], row.status.spentToday) }
            }
            buffer.writeFamily(M.budgetExhausted, type: "gauge", rows: rows, labels: \.labels) { row, line in
                if row.status.hasBudget { line(closing[0], row.status.budgetExhausted ? 1 : 0) }
            }
        }
    }
}
