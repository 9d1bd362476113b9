import Prometheus

/// The window statistics as gauges in the text format, written at each scrape straight from the
/// snapshots. They are derived values, tens of thousands for a fleet (7 statistics of 5 figures per window
/// and series), and a registry would have to create, update and remove each one: swift-prometheus copies
/// a family's dictionary whenever one is added or removed, which made a scrape of 300 targets take seconds.
/// A figure without samples in a window is absent, not a stale value.
enum WindowGaugeExposition {
    typealias Snapshots = [(key: SeriesKey, windows: [(window: Duration, snapshot: WindowSnapshot)])]
    private typealias M = MetricCatalog

    static func write(_ snapshots: Snapshots, into buffer: inout [UInt8]) {
        guard !snapshots.isEmpty else { return }
        let prefixes = snapshots.map { series in
            (series.key, series.windows.map { exposedLabels(series.key.labels + [("window", WindowedStatistics.label($0.window))]) })
        }
        func family(_ descriptor: MetricNameDescriptor, _ lines: (inout [UInt8]) -> Void) {
            let start = buffer.count
            buffer += Array("# HELP \(descriptor.name) \(descriptor.helpText ?? "")\n# TYPE \(descriptor.name) gauge\n".utf8)
            let header = buffer.count
            lines(&buffer)
            if buffer.count == header { buffer.removeSubrange(start...) }  // no sample: no family
        }
        func sample(_ name: String, _ prefix: String, _ suffix: String, _ value: Double?, _ buffer: inout [UInt8]) {
            guard let value else { return }
            buffer += Array("\(name){\(prefix)\(suffix)} \(value)\n".utf8)
        }
        family(M.windowProbes) { buffer in
            for (series, (_, labels)) in zip(snapshots, prefixes) {
                for (window, prefix) in zip(series.windows, labels) {
                    sample(M.windowProbes.name, prefix, "", Double(window.snapshot.probes), &buffer)
                }
            }
        }
        family(M.windowAvailability) { buffer in
            for (series, (_, labels)) in zip(snapshots, prefixes) {
                for (window, prefix) in zip(series.windows, labels) {
                    sample(M.windowAvailability.name, prefix, "", window.snapshot.availability, &buffer)
                }
            }
        }
        for figure in M.windowFigures {
            let name = figure.descriptor.name
            family(figure.descriptor) { buffer in
                for (series, (_, labels)) in zip(snapshots, prefixes) {
                    for (window, prefix) in zip(series.windows, labels) {
                        guard let summary = window.snapshot[keyPath: figure.figure] else { continue }
                        for stat in SampleSummary.Stat.allCases {
                            sample(name, prefix, ",stat=\"\(stat.rawValue)\"", summary[stat], &buffer)
                        }
                    }
                }
            }
        }
    }
}
