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
    /// Each window's probes and availability, and `stats` of each figure, in parts; a series' label set is
    /// taken from `labelSets` (those the other per-series families are written with), or rendered.
    static func parts(_ snapshots: Snapshots, labelSets: SeriesLabelSets,
                      stats: [SampleSummary.Stat] = SampleSummary.Stat.allCases) -> [ExpositionPart] {
        guard !snapshots.isEmpty else { return [] }
        // The windows, numbered in the order they come.
        var windows: [Duration] = []
        var rows: [Row] = []
        // Each row's label set: the series' in `labelSets`, or rendered and added for a series without one.
        var labels = labelSets.sets
        var labelSetOfRow: [Int] = []
        rows.reserveCapacity(snapshots.count * (snapshots.first?.windows.count ?? 0))
        labelSetOfRow.reserveCapacity(rows.capacity)
        for series in snapshots.indices {  // by index: a series copied out is retained
            let key = snapshots[series].key
            let labelSet = labelSets.positions[key] ?? labels.count
            if labelSet == labels.count { labels.append(exposedLabelBytes(key.labels)) }
            for (window, snapshot) in snapshots[series].windows {
                let number = windows.firstIndex(of: window) ?? windows.count
                if number == windows.count { windows.append(window) }
                rows.append(Row(snapshot: snapshot, window: number))
                labelSetOfRow.append(labelSet)
            }
        }
        // Each window's closings, one after another in one allocation: `,window="5m"} `, then
        // `,window="5m",stat="p50"} ` for each statistic (closing `window * perWindow + 1 + stat`).
        let perWindow = 1 + stats.count
        let closings = RenderedBytes(windows.flatMap { window in
            let label = ",window=\"\(WindowedStatistics.label(window))\""
            return [label + "} "] + stats.map { label + ",stat=\"\($0.rawValue)\"} " }
        })
        let counts = familyParts(FamilyName(M.windowProbes), type: "gauge", labels: labels, rows: labelSetOfRow) { [closings, rows] row, line in
            line(closings[rows[row].window * perWindow], Double(rows[row].snapshot.probes))
        } + familyParts(FamilyName(M.windowAvailability), type: "gauge", labels: labels, rows: labelSetOfRow) { [closings, rows] row, line in
            if let availability = rows[row].snapshot.availability { line(closings[rows[row].window * perWindow], availability) }
        }
        // Computed from the `Float` samples of `ProbeHistory`: written with their digits.
        return counts + M.windowFigures.flatMap { descriptor, figure in
            familyParts(FamilyName(descriptor), type: "gauge", labels: labels, rows: labelSetOfRow, linesPerRow: stats.count,
                        singlePrecision: true) { [closings, rows] row, line in
                guard let summary = rows[row].snapshot[figure] else { return }
                let first = rows[row].window * perWindow + 1
                for (number, stat) in stats.enumerated() { line(closings[first + number], summary[stat]) }
            }
        }
    }

    /// A series' snapshot of one window (by its number).
    private struct Row {
        var snapshot: WindowSnapshot
        var window: Int
    }
}
