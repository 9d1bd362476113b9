import NIOConcurrencyHelpers

/// Sliding-window statistics of every series, computed exactly from each series' recent probes
/// (`ProbeHistory`): what the window gauges, the status page and `compare` show.
public final class WindowedStatistics: Sendable {
    /// The windows, shortest first (`statistics.windows`).
    public let windows: [Duration]
    private let table = NIOLockedValueBox(Table())

    /// Every series' key and history in the order they came, and where each key is: a scrape reads them
    /// all, by position, and a dictionary's elements were copied (their references retained) to be read.
    private struct Table {
        var keys: [SeriesKey] = []
        var series: [Series] = []
        var positions: [SeriesKey: Int] = [:]

        subscript(key: SeriesKey) -> Series? {
            positions[key].map { series[$0] }
        }
    }

    /// A series' history, and the snapshots `snapshots` last computed from it, reused while still exact.
    private struct Series {
        var history = ProbeHistory()
        var snapshots: ExactSnapshots?
    }

    /// A series' snapshots (one per window) taken at `taken`, exact until the series records another probe
    /// or a probe they count leaves its window (after `until`; nil: never).
    private struct ExactSnapshots {
        var taken: ProbeInstant
        /// The history's newest probe and its number of probes recorded, when taken.
        var newest: ProbeInstant?
        var recorded: Int
        var until: ProbeInstant?
        var windows: [(window: Duration, snapshot: WindowSnapshot)]

        init(_ history: ProbeHistory, windows: [Duration], now: ProbeInstant) {
            (taken, newest, recorded) = (now, history.samples.last?.at, history.recorded)
            self.windows = windows.map { (window: $0, snapshot: history.window($0, now: now)) }
            until = windows.compactMap { history.exactUntil($0, now: now) }.min()
        }

        func isExact(for history: ProbeHistory, now: ProbeInstant) -> Bool {
            history.recorded == recorded && history.samples.last?.at == newest && now >= taken
                && until.map { now <= $0 } ?? true
        }
    }

    public init(windows: [Duration] = ProbeConfig.defaultWindows) {
        self.windows = windows.sorted()
    }

    /// The `window` label of a window: `5m`, `1h`.
    public static func label(_ window: Duration) -> String {
        PrometheusDuration.format(window)
    }

    public func record(_ result: ProbeResult, _ measurement: ProbeMeasurement, at now: ProbeInstant = .now) {
        let horizon = windows.last ?? .seconds(3600)
        table.withLockedValue { table in
            let position = table.positions[result.key] ?? table.keys.count
            if position == table.keys.count {
                table.positions[result.key] = position
                table.keys.append(result.key)
                table.series.append(Series())
            }
            table.series[position].history.record(result, measurement, at: now, keeping: horizon)
        }
    }

    /// Keeps only the histories of `keys` (after a reload).
    public func keep(only keys: Set<SeriesKey>) {
        table.withLockedValue { table in
            let kept = table.keys.indices.filter { keys.contains(table.keys[$0]) }
            table.keys = kept.map { table.keys[$0] }
            table.series = kept.map { table.series[$0] }
            table.positions = Dictionary(uniqueKeysWithValues: table.keys.enumerated().map { ($1, $0) })
        }
    }

    /// Every series with a history, in the order they came, and its snapshot per window. A series whose
    /// snapshots are still exact since the last call (no new probe, none gone out of its window) is read
    /// as it is: a fleet scraped more often than it is probed recomputes only the series probed in between,
    /// outside the lock, on copies of their histories.
    public func snapshots(now: ProbeInstant = .now) -> [(key: SeriesKey, windows: [(window: Duration, snapshot: WindowSnapshot)])] {
        var snapshots: [(key: SeriesKey, windows: [(window: Duration, snapshot: WindowSnapshot)])] = []
        var stale: [(position: Int, key: SeriesKey, history: ProbeHistory)] = []
        table.withLockedValue { table in
            snapshots.reserveCapacity(table.keys.count)
            for position in table.keys.indices {  // by position: a series copied out is retained
                if let exact = table.series[position].snapshots, exact.isExact(for: table.series[position].history, now: now) {
                    snapshots.append((table.keys[position], exact.windows))
                } else {
                    snapshots.append((table.keys[position], []))
                    stale.append((position, table.keys[position], table.series[position].history))
                }
            }
        }
        guard !stale.isEmpty else { return snapshots }
        let computed = stale.map { ExactSnapshots($0.history, windows: windows, now: now) }
        for (series, exact) in zip(stale, computed) { snapshots[series.position].windows = exact.windows }
        table.withLockedValue { table in
            for (series, exact) in zip(stale, computed) {
                // Where the series is now: a reload may have removed series meanwhile.
                guard let position = table.positions[series.key] else { continue }
                table.series[position].snapshots = exact
            }
        }
        return snapshots
    }

    /// One series' snapshot of one window (empty when the series has no history).
    public func snapshot(_ key: SeriesKey, window: Duration, now: ProbeInstant = .now) -> WindowSnapshot {
        let history = table.withLockedValue { $0[key]?.history }
        return history?.window(window, now: now) ?? WindowSnapshot()
    }

    /// The time to first token of a series' probes in the last `window`: seconds ago and value, oldest first.
    public func timeToFirstTokenTrail(_ key: SeriesKey, window: Duration, now: ProbeInstant = .now) -> [(age: Double, value: Double)] {
        let history = table.withLockedValue { $0[key]?.history }
        return history?.timeToFirstTokenTrail(window, now: now) ?? []
    }
}
