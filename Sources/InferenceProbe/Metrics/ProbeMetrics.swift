import Foundation
import NIOConcurrencyHelpers
import NIOCore
import Prometheus

/// The Prometheus series the sidecar exports (see `MetricCatalog`), fed one result or skip at a time.
///
/// Every per-probe series carries `target`, `model`, `api` and `transport`; per-target series (backoff,
/// rate limits, daily cost) carry `target`, `model` and `api`. Names follow Prometheus conventions (base
/// units, `_total` for counters).
public final class ProbeMetrics: Sendable {
    public let registry: PrometheusCollectorRegistry
    private typealias M = MetricCatalog
    /// Probes by outcome, skipped probes by reason and reconnects by reason, per series.
    private let outcomes = OutcomeCounters([
        OutcomeCounters.Family(name: M.probes.name, help: M.probes.helpText ?? "", label: "outcome",
                               values: ProbeOutcome.allCases.map(\.rawValue)),
        OutcomeCounters.Family(name: M.probesSkipped.name, help: M.probesSkipped.helpText ?? "", label: "reason",
                               values: SkipReason.allCases.map(\.rawValue)),
        OutcomeCounters.Family(name: M.reconnects.name, help: M.reconnects.helpText ?? "", label: "reason",
                               values: ReconnectReason.allCases.map(\.rawValue), transport: WebSocketProber.name),
    ])
    private static let (probesFamily, skippedFamily, reconnectsFamily) = (0, 1, 2)
    /// The histograms exported, with their buckets: the lateness histogram (one, process-wide) is in the
    /// registry, the per-series ones in `seriesHistograms`.
    private let histograms: HistogramSet
    private let seriesHistograms: SeriesHistograms
    /// Gates whose status is read into gauges at every scrape.
    private let gates: TargetGates?
    /// Window statistics written as gauges at every scrape (`WindowGaugeExposition`, not the registry).
    private let statistics: WindowedStatistics?
    /// The statistics of each window written as gauges.
    private let windowGauges: [SampleSummary.Stat]
    /// What the last scrape set from the gates (targets' labels): a scrape racing a reload must not leave
    /// the series of a removed target behind. Its lock also keeps scrapes and reloads in turn.
    private let scraped = NIOLockedValueBox(ScrapedSeries())

    private struct ScrapedSeries {
        var gateLabels: [[(String, String)]] = []
        /// Size of the last exposition: the next buffer is reserved at once, not grown page by page.
        var bytes = 16 << 10
    }

    public init(registry: PrometheusCollectorRegistry = PrometheusCollectorRegistry(), gates: TargetGates? = nil,
                statistics: WindowedStatistics? = nil, histograms: HistogramSet = HistogramSet(),
                windowGauges: [SampleSummary.Stat] = SampleSummary.Stat.allCases) {
        self.registry = registry
        self.gates = gates
        self.statistics = statistics
        self.windowGauges = windowGauges
        self.histograms = histograms
        self.seriesHistograms = SeriesHistograms(histograms)
        registry.makeGauge(descriptor: M.buildInfo, labels: [("version", BuildInfo.version)]).set(1.0)
        recordConfigLoad(succeeded: true)
    }

    /// Records a configuration load: the start-up one (in `init`) and every reload.
    public func recordConfigLoad(succeeded: Bool, at time: Date = Date()) {
        registry.makeGauge(descriptor: M.configReloadSuccessful).set(succeeded ? 1.0 : 0.0)
        if succeeded {
            registry.makeGauge(descriptor: M.configReloadTimestamp).set(time.timeIntervalSince1970)
        }
    }

    /// Creates a key's counters up front, so they read 0 (not absent) before the first probe or failure.
    public func register(_ key: SeriesKey) {
        outcomes.register(key)
        for labels in counterLabels(key) {
            _ = registry.makeCounter(descriptor: labels.0, labels: labels.1)
        }
    }

    /// Swaps the series after a reload: `change` (dropping the old series' statistics) and the removal and
    /// registration happen between two scrapes, never during one.
    public func replace(_ old: [SeriesKey], with new: [SeriesKey], while change: () -> Void = {}) {
        scraped.withLockedValue { _ in
            change()
            for key in old where !new.contains(key) { forget(key) }
            for key in new { register(key) }
        }
    }

    /// Removes every series of a key (a target or transport dropped by a reload).
    public func forget(_ key: SeriesKey) {
        outcomes.forget(key)
        let labels = key.labels
        for counter in counterLabels(key) + [(M.cost, labels)] {
            registry.unregisterCounter(registry.makeCounter(descriptor: counter.0, labels: counter.1))
        }
        var gauges = [(M.lastSuccess, labels), (M.lastTimestamp, labels)]
        gauges += ConnectionPhase.names.map { (M.connectionPhase, labels + [("phase", $0)]) }
        let targetLabels = Self.targetLabels(key)
        gauges += [(M.backoffRemaining, targetLabels), (M.dailyCost, targetLabels), (M.budgetExhausted, targetLabels)]
        gauges += ["requests", "tokens"].map { (M.rateLimitRemaining, targetLabels + [("resource", $0)]) }
        for gauge in gauges {
            registry.unregisterGauge(registry.makeGauge(descriptor: gauge.0, labels: gauge.1))
        }
        seriesHistograms.forget(key)
    }

    private func forgetGateGauges(_ labels: [(String, String)]) {
        for gauge in [M.backoffRemaining, M.dailyCost, M.budgetExhausted] {
            registry.unregisterGauge(registry.makeGauge(descriptor: gauge, labels: labels))
        }
    }

    /// The registry's counters every key has from the start (those by outcome and reason are in `outcomes`).
    private func counterLabels(_ key: SeriesKey) -> [(MetricNameDescriptor, [(String, String)])] {
        let labels = key.labels
        return [(M.outputTokens, labels), (M.inputTokens, labels)]
    }

    private static func targetLabels(_ key: SeriesKey) -> [(String, String)] {
        [("target", key.target), ("model", key.model), ("api", key.api)]
    }

    /// Counts a scheduled probe that was not sent.
    public func recordSkip(_ key: SeriesKey, _ reason: SkipReason) {
        outcomes.increment(key, family: Self.skippedFamily, value: reason.rawValue)
    }

    /// Records one finished probe and the figures derived from it.
    public func record(_ result: ProbeResult, _ measurement: ProbeMeasurement, at wallClock: Date = Date()) {
        let labels = result.key.labels
        outcomes.increment(result.key, family: Self.probesFamily, value: result.outcome.rawValue)
        registry.makeGauge(descriptor: M.lastSuccess, labels: labels).set(result.outcome == .success ? 1.0 : 0.0)
        registry.makeGauge(descriptor: M.lastTimestamp, labels: labels).set(wallClock.timeIntervalSince1970)
        if let lateness = result.scheduleLateness, let buckets = histograms.buckets[.scheduleLateness] {
            registry.makeValueHistogram(descriptor: M.scheduleLateness, buckets: buckets).record(lateness)
        }
        for phase in measurement.connectionPhases {
            registry.makeGauge(descriptor: M.connectionPhase, labels: labels + [("phase", phase.name)]).set(phase.seconds)
        }
        recordUsage(result)
        if let reason = result.reconnectReason {
            outcomes.increment(result.key, family: Self.reconnectsFamily, value: reason.rawValue)
        }
        var observations: [(HistogramSet.Kind, Double?)] = [(.connectionSetup, measurement.connectionSetup)]
        observations += result.pingRoundTrips.map { (.websocketPingRoundTrip, $0) }
        if result.outcome == .success {
            registry.makeCounter(descriptor: M.outputTokens, labels: labels).increment(by: Int64(measurement.outputTokens))
            observations += [(.timeToFirstByte, measurement.timeToFirstByte), (.timeToFirstToken, measurement.timeToFirstToken),
                             (.interTokenJitter, measurement.interTokenJitter), (.requestDuration, measurement.duration),
                             (.outputTokensPerSecond, measurement.outputTokensPerSecond)]
            observations += measurement.interTokenLatencies.map { (.interTokenLatency, $0) }
        }
        seriesHistograms.observe(result.key, observations.compactMap { kind, value in value.map { (kind, $0) } })
    }

    /// Input tokens and cost of every probe that was charged, and the rate limits its answer reported.
    private func recordUsage(_ result: ProbeResult) {
        let labels = result.key.labels
        if let cost = result.cost {
            registry.makeCounter(descriptor: M.inputTokens, labels: labels).increment(by: Int64(result.inputTokens))
            registry.makeCounter(descriptor: M.cost, labels: labels).increment(by: cost)
        } else if result.outcome == .success {
            registry.makeCounter(descriptor: M.inputTokens, labels: labels).increment(by: Int64(result.inputTokens))
        }
        guard let status = result.rateLimit else { return }
        let targetLabels = Self.targetLabels(result.key)
        for (resource, value) in [("requests", status.remainingRequests), ("tokens", status.remainingTokens)] {
            guard let value else { continue }
            registry.makeGauge(descriptor: M.rateLimitRemaining, labels: targetLabels + [("resource", resource)]).set(Double(value))
        }
    }

    /// The registry in the Prometheus text exposition format, with the gates' and windows' gauges read just now.
    public func exposition() -> ByteBuffer {
        scraped.withLockedValue { scraped in
            refreshGateGauges(&scraped)
            var registered: [UInt8] = []
            registry.emit(into: &registered)
            var buffer = ByteBufferAllocator().buffer(capacity: scraped.bytes + scraped.bytes / 8)
            buffer.writeBytes(registered)
            outcomes.write(into: &buffer)
            seriesHistograms.write(into: &buffer)
            if let statistics { WindowGaugeExposition.write(statistics.snapshots(), stats: windowGauges, into: &buffer) }
            scraped.bytes = buffer.readableBytes
            return buffer
        }
    }

    /// Sets the gates' gauges, and removes those of gates gone since the last scrape.
    private func refreshGateGauges(_ scraped: inout ScrapedSeries) {
        guard let gates else { return }
        let statuses = gates.all().map { $0.status() }
        let current = Set(statuses.map { LabelSet($0.labels) })
        for gone in scraped.gateLabels where !current.contains(LabelSet(gone)) {
            forgetGateGauges(gone)
        }
        scraped.gateLabels = statuses.map(\.labels)
        for status in statuses {
            let labels = status.labels
            registry.makeGauge(descriptor: M.backoffRemaining, labels: labels).set(status.backoffRemaining)
            if status.priced {
                registry.makeGauge(descriptor: M.dailyCost, labels: labels).set(status.spentToday)
            }
            if status.hasBudget {
                registry.makeGauge(descriptor: M.budgetExhausted, labels: labels).set(status.budgetExhausted ? 1.0 : 0.0)
            }
        }
    }

    /// A label set as a hashable value, to find the gates gone since the last scrape.
    private struct LabelSet: Hashable {
        var pairs: [String]
        init(_ labels: [(String, String)]) { pairs = labels.flatMap { [$0.0, $0.1] } }
    }
}
