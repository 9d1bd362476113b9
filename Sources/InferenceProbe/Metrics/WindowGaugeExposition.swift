import NIOCore
import Prometheus

/// The window statistics as gauges in the text format, written at each scrape straight from the
/// snapshots. They are derived values, tens of thousands for a fleet (7 statistics of 5 figures per window
/// and series), and a registry would have to create, update and remove each one: swift-prometheus copies
/// a family's dictionary whenever one is added or removed, which made a scrape of 300 targets take seconds.
/// A figure without samples in a window is absent, not a stale value.
enum WindowGaugeExposition {
    typealias Snapshots = [(key: SeriesKey, windows: [(window: Duration, snapshot: WindowSnapshot)])]
    private typealias M = MetricCatalog

    /// Writes each window's probes and availability, and `stats` of each figure.
    static func write(_ snapshots: Snapshots, stats: [SampleSummary.Stat] = SampleSummary.Stat.allCases, into buffer: inout ByteBuffer) {
        guard !snapshots.isEmpty else { return }
        // Per series, per window: the label set, computed once for every family.
        var windows: [(snapshot: WindowSnapshot, labels: [UInt8])] = []
        windows.reserveCapacity(snapshots.count * (snapshots.first?.windows.count ?? 0))
        var windowLabels: [Duration: String] = [:]
        for series in snapshots.indices {  // by index: a series copied out is retained
            let labels = snapshots[series].key.labels
            for (window, snapshot) in snapshots[series].windows {
                let label = windowLabels[window] ?? WindowedStatistics.label(window)
                windowLabels[window] = label
                windows.append((snapshot, exposedLabelBytes(labels + [("window", label)])))
            }
        }
        // `} `, then `,stat="p50"} ` for each statistic.
        let closings = RenderedBytes(["} "] + stats.map { ",stat=\"\($0.rawValue)\"} " })
        let noStat = closings[0]
        withExtendedLifetime(closings) {
            buffer.writeFamily(M.windowProbes, type: "gauge", rows: windows, labels: \.labels) { window, line in
                line(noStat, Double(window.snapshot.probes))
            }
            buffer.writeFamily(M.windowAvailability, type: "gauge", rows: windows, labels: \.labels) { window, line in
                if let availability = window.snapshot.availability { line(noStat, availability) }
            }
            // Computed from the `Float` samples of `ProbeHistory`: written with their digits.
            for figure in M.windowFigures {
                buffer.writeFamily(figure.descriptor, type: "gauge", rows: windows, labels: \.labels, singlePrecision: true) { window, line in
                    guard let summary = window.snapshot[figure.figure] else { return }
                    for (number, stat) in stats.enumerated() { line(closings[number + 1], summary[stat]) }
                }
            }
        }
    }
}
