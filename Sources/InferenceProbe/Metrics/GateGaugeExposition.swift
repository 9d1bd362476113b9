import NIOCore

/// The targets' gate gauges (time left in a rate-limit pause, today's spend, budget spent, the requests and
/// tokens the provider says are left), written at each scrape straight from the gates' status: read at that
/// moment, and gone with a target a reload removed. The rate limits were in swift-prometheus's registry,
/// which copied the family's dictionary for every target's first answer and spent 2 ms of a 1,000-target
/// scrape writing them.
enum GateGaugeExposition {
    private typealias M = MetricCatalog

    /// The three families, in parts, from `statuses`.
    static func parts(_ statuses: [TargetGate.Status]) -> [ExpositionPart] {
        guard !statuses.isEmpty else { return [] }
        var labels = LabelSets()
        for status in statuses.indices { labels.append(statuses[status].exposedLabels) }
        let closing = RenderedBytes(["} "])
        let resources = RenderedBytes([",resource=\"requests\"} ", ",resource=\"tokens\"} "])
        return familyParts(FamilyName(M.backoffRemaining), type: "gauge", labels: labels, closing: closing) { statuses[$0].backoffRemaining }
            + familyParts(FamilyName(M.dailyCost), type: "gauge", labels: labels, closing: closing) {
                statuses[$0].priced ? statuses[$0].spentToday : nil
            }
            + familyParts(FamilyName(M.budgetExhausted), type: "gauge", labels: labels, closing: closing) {
                statuses[$0].hasBudget ? (statuses[$0].budgetExhausted ? 1 : 0) : nil
            }
            + familyParts(FamilyName(M.rateLimitRemaining), type: "gauge", labels: labels, linesPerRow: 2) { row, line in
                if let requests = statuses[row].remainingRequests { line(resources[0], Double(requests)) }
                if let tokens = statuses[row].remainingTokens { line(resources[1], Double(tokens)) }
            }
    }
}
