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
        // Per series, per window: the label set, computed once for every family.
        let windows = snapshots.flatMap { series in
            series.windows.map { (snapshot: $0.snapshot,
                                  labels: exposedLabels(series.key.labels + [("window", WindowedStatistics.label($0.window))])) }
        }
        func family(_ descriptor: MetricNameDescriptor, _ value: (WindowSnapshot) -> [(suffix: String, value: Double?)]) {
            let start = buffer.count
            buffer += Array("# HELP \(descriptor.name) \(descriptor.helpText ?? "")\n# TYPE \(descriptor.name) gauge\n".utf8)
            let header = buffer.count
            for window in windows {
                for sample in value(window.snapshot) {
                    guard let number = sample.value else { continue }
                    buffer += Array("\(descriptor.name){\(window.labels)\(sample.suffix)} \(number)\n".utf8)
                }
            }
            if buffer.count == header { buffer.removeSubrange(start...) }  // no sample: no family
        }
        family(M.windowProbes) { [("", Double($0.probes))] }
        family(M.windowAvailability) { [("", $0.availability)] }
        for figure in M.windowFigures {
            family(figure.descriptor) { snapshot in
                guard let summary = snapshot[keyPath: figure.figure] else { return [] }
                return SampleSummary.Stat.allCases.map { (",stat=\"\($0.rawValue)\"", summary[$0]) }
            }
        }
    }
}
