import Foundation
import NIOConcurrencyHelpers

/// The latest result of every series, for the status page and the readiness check.
public final class ProbeStatusBoard: Sendable {
    /// What the status page shows of one series.
    public struct Entry: Sendable {
        public var result: ProbeResult
        public var measurement: ProbeMeasurement
        public var finishedAt: Date
        public var probes: Int
        public var failures: Int
        /// Why the probes due since the last one were skipped, if they were.
        public var paused: SkipReason?
        /// The latest failed probe, which may be older than `result`.
        public var lastFailure: (outcome: ProbeOutcome, detail: String, at: Date)?
    }

    /// The configured series and their latest entries, changed together under one lock.
    private struct Series {
        var keys: [SeriesKey]
        var entries: [SeriesKey: Entry] = [:]
    }

    private let series: NIOLockedValueBox<Series>
    private let running = NIOLockedValueBox(false)

    public init(keys: [SeriesKey]) {
        self.series = NIOLockedValueBox(Series(keys: keys))
    }

    /// Replaces the configured series (after a reload); entries of series no longer configured are dropped.
    public func setKeys(_ newKeys: [SeriesKey]) {
        series.withLockedValue { series in
            series.keys = newKeys
            series.entries = series.entries.filter { newKeys.contains($0.key) }
        }
    }

    /// `true` while the scheduler is probing (drives `/-/ready`).
    public var isRunning: Bool {
        get { running.withLockedValue { $0 } }
    }

    public func setRunning(_ value: Bool) {
        running.withLockedValue { $0 = value }
    }

    /// Marks a series paused (its due probes skipped) until its next probe.
    public func recordSkip(_ key: SeriesKey, _ reason: SkipReason) {
        series.withLockedValue { series in series.entries[key]?.paused = reason }
    }

    public func record(_ result: ProbeResult, _ measurement: ProbeMeasurement, at date: Date = Date()) {
        series.withLockedValue { series in
            var entry = series.entries[result.key] ?? Entry(
                result: result, measurement: measurement, finishedAt: date, probes: 0, failures: 0)
            entry.result = result
            entry.measurement = measurement
            entry.finishedAt = date
            entry.probes += 1
            entry.paused = nil
            if result.outcome != .success {
                entry.failures += 1
                entry.lastFailure = (result.outcome, result.detail ?? "", date)
            }
            series.entries[result.key] = entry
        }
    }

    /// Every configured series in configuration order, with its latest entry once it has one.
    public func snapshot() -> [(key: SeriesKey, entry: Entry?)] {
        let current = series.withLockedValue { $0 }
        return current.keys.map { ($0, current.entries[$0]) }
    }

    /// A plain-text table of the latest results (no secrets: only labels, outcomes and figures). Every
    /// column is as wide as its widest cell, so no name or outcome is cut.
    public func renderText() -> String {
        func figure(_ value: Double?) -> String { value.map { String(format: "%.4f", $0) } ?? "-" }
        var rows = [["target/model/api/transport", "probes", "failed", "last", "ttft_s", "duration_s", "detail"]]
        for (key, entry) in snapshot() {
            guard let entry else {
                rows.append([key.description, "0", "0", "-", "-", "-", "no probe finished yet"])
                continue
            }
            let pause = switch entry.paused {
            case .rateLimited?: "paused: backing off after a rate limit; "
            case .budget?: "paused until 00:00 UTC: daily budget spent; "
            case nil: ""
            }
            rows.append([key.description, String(entry.probes), String(entry.failures), entry.result.outcome.rawValue,
                         figure(entry.measurement.timeToFirstToken), figure(entry.measurement.duration),
                         pause + (entry.result.detail ?? "")])
        }
        return (["inference-probe \(BuildInfo.version)", ""] + TextColumns.lines(rows)).joined(separator: "\n") + "\n"
    }
}
