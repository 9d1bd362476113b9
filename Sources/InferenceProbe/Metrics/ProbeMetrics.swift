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
    private let outcomes: OutcomeCounters
    private static let (probesFamily, skippedFamily, reconnectsFamily) = (0, 1, 2)
    /// The histograms exported, with their buckets: the lateness histogram (one, process-wide) is in the
    /// registry, the per-series ones in `seriesHistograms`.
    private let histograms: HistogramSet
    private let seriesHistograms: SeriesHistograms
    /// Tokens, cost, last probe and connection phases, per series.
    private let values = SeriesValues()
    /// Gates whose status is written as gauges at every scrape (`GateGaugeExposition`).
    private let gates: TargetGates?
    /// Window statistics written as gauges at every scrape (`WindowGaugeExposition`, not the registry).
    private let statistics: WindowedStatistics?
    /// The statistics of each window written as gauges.
    private let windowGauges: [SampleSummary.Stat]
    /// Held while a scrape reads the values and while a reload swaps series, so that they take turns.
    private let scrapes = NIOLock()

    public init(registry: PrometheusCollectorRegistry = PrometheusCollectorRegistry(), gates: TargetGates? = nil,
                statistics: WindowedStatistics? = nil, histograms: HistogramSet = HistogramSet(),
                windowGauges: [SampleSummary.Stat] = SampleSummary.Stat.allCases, outcomeCounters: OutcomeCounterLines = .all) {
        self.registry = registry
        outcomes = OutcomeCounters([
            OutcomeCounters.Family(name: M.probes.name, help: M.probes.helpText ?? "", label: "outcome",
                                   values: ProbeOutcome.allCases.map(\.rawValue)),
            OutcomeCounters.Family(name: M.probesSkipped.name, help: M.probesSkipped.helpText ?? "", label: "reason",
                                   values: SkipReason.allCases.map(\.rawValue)),
            OutcomeCounters.Family(name: M.reconnects.name, help: M.reconnects.helpText ?? "", label: "reason",
                                   values: ReconnectReason.allCases.map(\.rawValue), transport: WebSocketProber.name),
        ], lines: outcomeCounters)
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
        values.register(key)
    }

    /// Swaps the series after a reload: `change` (dropping the old series' statistics) and the removal and
    /// registration happen between two scrapes, never during one.
    public func replace(_ old: [SeriesKey], with new: [SeriesKey], while change: () -> Void = {}) {
        scrapes.withLock {
            change()
            for key in old where !new.contains(key) { forget(key) }
            for key in new { register(key) }
        }
    }

    /// Removes every series of a key (a target or transport dropped by a reload).
    public func forget(_ key: SeriesKey) {
        outcomes.forget(key)
        values.forget(key)
        seriesHistograms.forget(key)
    }

    /// Counts a scheduled probe that was not sent.
    public func recordSkip(_ key: SeriesKey, _ reason: SkipReason) {
        outcomes.increment(key, family: Self.skippedFamily, value: reason.rawValue)
    }

    /// Records one finished probe and the figures derived from it.
    public func record(_ result: ProbeResult, _ measurement: ProbeMeasurement, at wallClock: Date = Date()) {
        outcomes.increment(result.key, family: Self.probesFamily, value: result.outcome.rawValue)
        values.update(result.key) { values in
            values.lastSuccess = result.outcome == .success ? 1 : 0
            values.lastTimestamp = wallClock.timeIntervalSince1970
            for phase in measurement.connectionPhases {
                guard let number = ConnectionPhase.names.firstIndex(of: phase.name) else { continue }
                values.phases[number] = phase.seconds
            }
            if result.outcome == .success { values.outputTokens += UInt64(max(0, measurement.outputTokens)) }
            // Input tokens of every probe that was charged (its cost is known) or answered.
            if result.cost != nil || result.outcome == .success { values.inputTokens += UInt64(max(0, result.inputTokens)) }
            if let cost = result.cost { values.cost = (values.cost ?? 0) + cost }
        }
        if let lateness = result.scheduleLateness, let buckets = histograms.buckets[.scheduleLateness] {
            registry.makeValueHistogram(descriptor: M.scheduleLateness, buckets: buckets).record(lateness)
        }
        if let reason = result.reconnectReason {
            outcomes.increment(result.key, family: Self.reconnectsFamily, value: reason.rawValue)
        }
        var observations: [(HistogramSet.Kind, Double?)] = [(.connectionSetup, measurement.connectionSetup)]
        observations += result.pingRoundTrips.map { (.websocketPingRoundTrip, $0) }
        if result.outcome == .success {
            observations += [(.timeToFirstByte, measurement.timeToFirstByte), (.timeToFirstToken, measurement.timeToFirstToken),
                             (.interTokenJitter, measurement.interTokenJitter), (.requestDuration, measurement.duration),
                             (.outputTokensPerSecond, measurement.outputTokensPerSecond)]
            observations += measurement.interTokenLatencies.map { (.interTokenLatency, $0) }
        }
        seriesHistograms.observe(result.key, observations.compactMap { kind, value in value.map { (kind, $0) } })
    }

    /// Every series in the Prometheus text exposition format, in parts to write one after another: the
    /// registry's, then those the sidecar keeps itself, with the gates' and windows' gauges. Every value is
    /// read now, between two reloads.
    func expositionParts() -> [ExpositionPart] {
        scrapes.withLock {
            var registered: [UInt8] = []
            registry.emit(into: &registered)
            var parts: [ExpositionPart] = [{ [registered] buffer in buffer.writeBytes(registered) }]
            parts += outcomes.parts()
            parts += values.parts()
            parts += seriesHistograms.parts()
            if let gates {
                let (now, date) = (ContinuousClock.now, Date())
                parts += GateGaugeExposition.parts(gates.all().map { $0.status(now: now, date: date) })
            }
            if let statistics {
                parts += WindowGaugeExposition.parts(statistics.snapshots(), labelSets: values.labelSets(), stats: windowGauges)
            }
            return parts
        }
    }

    /// The whole exposition in one buffer.
    public func exposition() -> ByteBuffer {
        var buffer = ByteBufferAllocator().buffer(capacity: 16 << 10)
        buffer.write(expositionParts())
        return buffer
    }
}
