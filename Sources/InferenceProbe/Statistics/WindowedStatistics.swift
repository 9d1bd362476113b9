import NIOConcurrencyHelpers

/// Sliding-window statistics of every series, computed exactly from each series' recent probes
/// (`ProbeHistory`): what the window gauges, the status page and `compare` show.
public final class WindowedStatistics: Sendable {
    /// The windows, shortest first (`statistics.windows`).
    public let windows: [Duration]
    private let histories = NIOLockedValueBox<[SeriesKey: ProbeHistory]>([:])

    public init(windows: [Duration] = ProbeConfig.defaultWindows) {
        self.windows = windows.sorted()
    }

    /// The `window` label of a window: `5m`, `1h`.
    public static func label(_ window: Duration) -> String {
        PrometheusDuration.format(window)
    }

    public func record(_ result: ProbeResult, _ measurement: ProbeMeasurement, at now: ProbeInstant = .now) {
        let horizon = windows.last ?? .seconds(3600)
        histories.withLockedValue { histories in
            histories[result.key, default: ProbeHistory()].record(result, measurement, at: now, keeping: horizon)
        }
    }

    /// Keeps only the histories of `keys` (after a reload).
    public func keep(only keys: Set<SeriesKey>) {
        histories.withLockedValue { histories in histories = histories.filter { keys.contains($0.key) } }
    }

    /// Every series with a history, and its snapshot per window (computed outside the lock, on a copy).
    public func snapshots(now: ProbeInstant = .now) -> [(key: SeriesKey, windows: [(window: Duration, snapshot: WindowSnapshot)])] {
        let copies = histories.withLockedValue { $0 }
        return copies.map { key, history in
            (key, windows.map { ($0, history.window($0, now: now)) })
        }
    }

    /// One series' snapshot of one window (empty when the series has no history).
    public func snapshot(_ key: SeriesKey, window: Duration, now: ProbeInstant = .now) -> WindowSnapshot {
        let history = histories.withLockedValue { $0[key] }
        return history?.window(window, now: now) ?? WindowSnapshot()
    }

    /// The time to first token of a series' probes in the last `window`: seconds ago and value, oldest first.
    public func timeToFirstTokenTrail(_ key: SeriesKey, window: Duration, now: ProbeInstant = .now) -> [(age: Double, value: Double)] {
        let history = histories.withLockedValue { $0[key] }
        return history?.timeToFirstTokenTrail(window, now: now) ?? []
    }
}
