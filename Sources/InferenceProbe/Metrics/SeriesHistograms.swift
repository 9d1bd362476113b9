import NIOConcurrencyHelpers
import Prometheus

/// The per-series histograms (`metrics.histograms`: TTFT, inter-token latency, ...), kept as bucket
/// counts and written into the exposition directly. A fleet's scrape is mostly these lines (1,000 targets
/// x 3 transports with every histogram: about 330,000); the registry spent 0.7 s writing them, and looked
/// each histogram up by its label set for every observation.
///
/// A series' histogram appears at its first observation, as the registry's did.
final class SeriesHistograms: Sendable {
    /// One exported histogram: its family and bucket bounds, their `le` labels rendered once.
    private struct Family: Sendable {
        var kind: HistogramSet.Kind
        var name: String
        var nameBytes: [UInt8]
        var help: String
        var bounds: [Double]
        /// `,le="0.005"} ` for each bound, then `,le="+Inf"} `.
        var leLabels: [[UInt8]]
    }

    /// One series' histograms, by family: counts per bucket (not cumulative; the last is above every bound).
    private struct Series {
        var labels: [UInt8]
        var counts: [[UInt64]]
        var sums: [Double]
    }

    private struct State {
        var order: [SeriesKey] = []
        var series: [SeriesKey: Series] = [:]
    }

    private let families: [Family]
    /// The family index of each kind exported.
    private let index: [HistogramSet.Kind: Int]
    private let state = NIOLockedValueBox(State())

    /// The histograms `set` exports, except the process-wide `schedule_lateness` (not per series).
    init(_ set: HistogramSet) {
        families = HistogramSet.Kind.allCases.compactMap { kind in
            guard kind != .scheduleLateness, let bounds = set.buckets[kind] else { return nil }
            let descriptor = MetricCatalog.histogram(kind)
            let name = descriptor.name
            return Family(kind: kind, name: name, nameBytes: Array(name.utf8), help: descriptor.helpText ?? "", bounds: bounds,
                          leLabels: (bounds.map(\.description) + ["+Inf"]).map { Array(",le=\"\($0)\"} ".utf8) })
        }
        index = Dictionary(uniqueKeysWithValues: families.enumerated().map { ($1.kind, $0) })
    }

    /// Whether `kind` is exported.
    func exports(_ kind: HistogramSet.Kind) -> Bool { index[kind] != nil }

    /// Records every value of a probe, under one lock; kinds not exported are ignored.
    func observe(_ key: SeriesKey, _ observations: [(HistogramSet.Kind, Double)]) {
        let located = observations.compactMap { kind, value in index[kind].map { ($0, value) } }
        guard !located.isEmpty else { return }
        state.withLockedValue { state in
            if state.series[key] == nil {
                state.order.append(key)
                state.series[key] = Series(labels: exposedLabelBytes(key.labels),
                                           counts: families.map { [UInt64](repeating: 0, count: $0.bounds.count + 1) },
                                           sums: [Double](repeating: 0, count: families.count))
            }
            for (family, value) in located {
                let bucket = families[family].bounds.firstIndex { value <= $0 } ?? families[family].bounds.count
                state.series[key]!.counts[family][bucket] += 1
                state.series[key]!.sums[family] += value
            }
        }
    }

    /// Removes a series' histograms (a target or transport dropped by a reload).
    func forget(_ key: SeriesKey) {
        state.withLockedValue { state in
            guard state.series.removeValue(forKey: key) != nil else { return }
            state.order.removeAll { $0 == key }
        }
    }

    /// Every family with the series that have observations, in the text format.
    func write(into buffer: inout [UInt8]) {
        let (order, series) = state.withLockedValue { ($0.order, $0.series) }
        for (number, family) in families.enumerated() {
            var wroteHeader = false
            for key in order {
                guard let one = series[key] else { continue }
                let counts = one.counts[number]
                let total = counts.reduce(0, +)
                guard total > 0 else { continue }
                if !wroteHeader {
                    buffer.appendFamilyHeader(family.name, help: family.help, type: "histogram")
                    wroteHeader = true
                }
                var cumulative: UInt64 = 0
                for (count, le) in zip(counts, family.leLabels) {
                    cumulative += count
                    buffer.append(contentsOf: family.nameBytes)
                    buffer.append(contentsOf: "_bucket{".utf8)
                    buffer.append(contentsOf: one.labels)
                    buffer.append(contentsOf: le)
                    buffer.appendDecimal(cumulative)
                    buffer.append(UInt8(ascii: "\n"))
                }
                func line(_ suffix: StaticString, _ value: Double) {
                    buffer.append(contentsOf: family.nameBytes)
                    buffer.append(contentsOf: UnsafeBufferPointer(start: suffix.utf8Start, count: suffix.utf8CodeUnitCount))
                    buffer.append(contentsOf: one.labels)
                    buffer.append(contentsOf: "} ".utf8)
                    buffer.appendSample(value)
                    buffer.append(UInt8(ascii: "\n"))
                }
                line("_sum{", one.sums[number])
                line("_count{", Double(total))
            }
        }
    }
}
