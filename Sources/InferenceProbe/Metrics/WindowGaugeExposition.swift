import NIOConcurrencyHelpers
import NIOCore
import Prometheus

/// The window statistics as gauges in the text format, written at each scrape straight from the
/// snapshots. They are derived values, tens of thousands for a fleet (7 statistics of 5 figures per window
/// and series), and a registry would have to create, update and remove each one: swift-prometheus copies
/// a family's dictionary whenever one is added or removed, which made a scrape of 300 targets take seconds.
/// A figure without samples in a window is absent, not a stale value.
/// The label sets of the series are kept from one scrape to the next (`forget` drops one).
final class WindowGaugeExposition: Sendable {
    typealias Snapshots = [(key: SeriesKey, windows: [(window: Duration, snapshot: WindowSnapshot)])]
    private typealias M = MetricCatalog
    /// Each series' label set, rendered at its first scrape.
    private let labels = NIOLockedValueBox<[SeriesKey: [UInt8]]>([:])

    func forget(_ key: SeriesKey) {
        _ = labels.withLockedValue { $0.removeValue(forKey: key) }
    }

    /// Each window's probes and availability, and `stats` of each figure, in parts.
    func parts(_ snapshots: Snapshots, stats: [SampleSummary.Stat] = SampleSummary.Stat.allCases) -> [ExpositionPart] {
        guard !snapshots.isEmpty else { return [] }
        // The windows, each with its closings: `,window="5m"} `, then `,window="5m",stat="p50"} ` for each statistic.
        var windowNumbers: [Duration: Int] = [:]
        var closings: [RenderedBytes] = []
        var rows: [Row] = []
        rows.reserveCapacity(snapshots.count * (snapshots.first?.windows.count ?? 0))
        labels.withLockedValue { labels in
            for series in snapshots.indices {  // by index: a series copied out is retained
                let key = snapshots[series].key
                let seriesLabels = labels[key] ?? exposedLabelBytes(key.labels)
                labels[key] = seriesLabels
                for (window, snapshot) in snapshots[series].windows {
                    let number = windowNumbers[window] ?? closings.count
                    if number == closings.count {
                        windowNumbers[window] = number
                        let label = ",window=\"\(WindowedStatistics.label(window))\""
                        closings.append(RenderedBytes([label + "} "] + stats.map { label + ",stat=\"\($0.rawValue)\"} " }))
                    }
                    rows.append(Row(snapshot: snapshot, labels: seriesLabels, window: number))
                }
            }
        }
        let counts = familyParts(FamilyName(M.windowProbes), type: "gauge", rows: rows) { [closings] row, line in
            line(closings[row.window][0], Double(row.snapshot.probes))
        } + familyParts(FamilyName(M.windowAvailability), type: "gauge", rows: rows) { [closings] row, line in
            if let availability = row.snapshot.availability { line(closings[row.window][0], availability) }
        }
        // Computed from the `Float` samples of `ProbeHistory`: written with their digits.
        return counts + M.windowFigures.flatMap { descriptor, figure in
            familyParts(FamilyName(descriptor), type: "gauge", rows: rows, linesPerRow: stats.count,
                        singlePrecision: true) { [closings] row, line in
                guard let summary = row.snapshot[figure] else { return }
                for (number, stat) in stats.enumerated() { line(closings[row.window][number + 1], summary[stat]) }
            }
        }
    }

    /// A series' snapshot of one window (by its number in the closings).
    private struct Row: ExposedRow {
        var snapshot: WindowSnapshot
        var labels: [UInt8]
        var window: Int
    }
}
