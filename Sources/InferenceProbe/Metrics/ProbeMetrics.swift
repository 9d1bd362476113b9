import Foundation
import Prometheus

/// The Prometheus series the sidecar exports (see `MetricCatalog`), fed one `ProbeResult` at a time.
///
/// Every per-probe series carries `target`, `model` and `transport`; names follow Prometheus conventions
/// (base units, `_total` for counters).
public final class ProbeMetrics: Sendable {
    public let registry: PrometheusCollectorRegistry
    private typealias M = MetricCatalog

    public init(registry: PrometheusCollectorRegistry = PrometheusCollectorRegistry()) {
        self.registry = registry
        registry.makeGauge(descriptor: M.buildInfo, labels: [("version", BuildInfo.version)]).set(1.0)
    }

    /// Creates a key's counters up front, so they read 0 (not absent) before the first probe or failure.
    public func register(_ key: SeriesKey) {
        for outcome in ProbeOutcome.allCases {
            _ = registry.makeCounter(descriptor: M.probes, labels: key.labels + [("outcome", outcome.rawValue)])
        }
        _ = registry.makeCounter(descriptor: M.outputTokens, labels: key.labels)
    }

    /// Removes every series of a key (a target or transport dropped by a reload).
    public func forget(_ key: SeriesKey) {
        let labels = key.labels
        for outcome in ProbeOutcome.allCases {
            registry.unregisterCounter(registry.makeCounter(descriptor: M.probes, labels: labels + [("outcome", outcome.rawValue)]))
        }
        registry.unregisterCounter(registry.makeCounter(descriptor: M.outputTokens, labels: labels))
        registry.unregisterGauge(registry.makeGauge(descriptor: M.lastSuccess, labels: labels))
        registry.unregisterGauge(registry.makeGauge(descriptor: M.lastTimestamp, labels: labels))
        for phase in ConnectionPhase.names {
            registry.unregisterGauge(registry.makeGauge(descriptor: M.connectionPhase, labels: labels + [("phase", phase)]))
        }
        for (name, buckets) in M.histograms {
            registry.unregisterValueHistogram(registry.makeValueHistogram(descriptor: name, labels: labels, buckets: buckets))
        }
    }

    /// Records one finished probe and the figures derived from it.
    public func record(_ result: ProbeResult, _ measurement: ProbeMeasurement, at wallClock: Date = Date()) {
        let labels = result.key.labels
        registry.makeCounter(descriptor: M.probes, labels: labels + [("outcome", result.outcome.rawValue)]).increment()
        registry.makeGauge(descriptor: M.lastSuccess, labels: labels).set(result.outcome == .success ? 1.0 : 0.0)
        registry.makeGauge(descriptor: M.lastTimestamp, labels: labels).set(wallClock.timeIntervalSince1970)
        for phase in measurement.connectionPhases {
            registry.makeGauge(descriptor: M.connectionPhase, labels: labels + [("phase", phase.name)]).set(phase.seconds)
        }
        observe(M.connectionSetup, labels, M.connectBuckets, measurement.connectionSetup)
        guard result.outcome == .success else { return }
        registry.makeCounter(descriptor: M.outputTokens, labels: labels).increment(by: Int64(measurement.outputTokens))
        observe(M.timeToFirstByte, labels, M.ttftBuckets, measurement.timeToFirstByte)
        observe(M.timeToFirstToken, labels, M.ttftBuckets, measurement.timeToFirstToken)
        for gap in measurement.interTokenLatencies {
            observe(M.interTokenLatency, labels, M.interTokenBuckets, gap)
        }
        observe(M.interTokenJitter, labels, M.interTokenBuckets, measurement.interTokenJitter)
        observe(M.requestDuration, labels, M.durationBuckets, measurement.duration)
        observe(M.outputTokenRate, labels, M.tokenRateBuckets, measurement.outputTokensPerSecond)
    }

    /// The registry in the Prometheus text exposition format.
    public func exposition() -> [UInt8] {
        var buffer: [UInt8] = []
        buffer.reserveCapacity(16 << 10)
        registry.emit(into: &buffer)
        return buffer
    }

    private func observe(_ name: MetricNameDescriptor, _ labels: [(String, String)], _ buckets: [Double], _ value: Double?) {
        guard let value else { return }
        registry.makeValueHistogram(descriptor: name, labels: labels, buckets: buckets).record(value)
    }
}
