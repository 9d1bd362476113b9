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
        let windows = snapshots.flatMap { series in
            series.windows.map { (snapshot: $0.snapshot,
                                  labels: exposedLabelBytes(series.key.labels + [("window", WindowedStatistics.label($0.window))])) }
        }
        // `} `, then `,stat="p50"} ` for each statistic.
        let closings = RenderedBytes(["} "] + stats.map { ",stat=\"\($0.rawValue)\"} " })
        let noStat = closings[0]
        /// One family: for each window, `samples` appends its lines through `line(closing, value)`.
        func family(_ descriptor: MetricNameDescriptor,
                    _ samples: (WindowSnapshot, (_ closing: UnsafeRawBufferPointer, _ value: Double) -> Void) -> Void) {
            let start = buffer.writerIndex
            let name = descriptor.name  // computed by swift-prometheus at every call
            buffer.writeFamilyHeader(name, help: descriptor.helpText ?? "", type: "gauge")
            let header = buffer.writerIndex
            withExtendedLifetime(RenderedBytes([name])) { nameBytes in
                for window in windows {
                    window.labels.withUnsafeBytes { labels in
                        samples(window.snapshot) { closing, value in
                            buffer.writeSampleLine(nameBytes[0], labels, closing, value)
                        }
                    }
                }
            }
            if buffer.writerIndex == header { buffer.moveWriterIndex(to: start) }  // no sample: no family
        }
        withExtendedLifetime(closings) {
            family(M.windowProbes) { snapshot, line in line(noStat, Double(snapshot.probes)) }
            family(M.windowAvailability) { snapshot, line in
                if let availability = snapshot.availability { line(noStat, availability) }
            }
            for figure in M.windowFigures {
                family(figure.descriptor) { snapshot, line in
                    guard let summary = snapshot[keyPath: figure.figure] else { return }
                    for (number, stat) in stats.enumerated() { line(closings[number + 1], summary[stat]) }
                }
            }
        }
    }
}
