import NIOConcurrencyHelpers
import NIOCore
import Prometheus

/// The per-series histograms (`metrics.histograms`: TTFT, inter-token latency, ...), kept as bucket
/// counts and written into the exposition directly. A fleet's scrape is mostly these lines (1,000 targets
/// x 3 transports with every histogram: about 330,000); the registry spent 0.7 s writing them, and looked
/// each histogram up by its label set for every observation.
///
/// A series' histogram appears at its first observation, as the registry's did.
final class SeriesHistograms: Sendable {
    /// One exported histogram: its family and bucket bounds, its sample names and `le` labels rendered once.
    private struct Family: Sendable {
        var kind: HistogramSet.Kind
        var name: String
        var help: String
        var bounds: [Double]
        /// `_bucket`, `_sum` and `_count` names, `} `, then `,le="0.005"} ` for each bound and `,le="+Inf"} `.
        var rendered: RenderedBytes

        init(_ kind: HistogramSet.Kind, bounds: [Double]) {
            let descriptor = MetricCatalog.histogram(kind)
            (self.kind, name, help, self.bounds) = (kind, descriptor.name, descriptor.helpText ?? "", bounds)
            rendered = RenderedBytes([name + "_bucket", name + "_sum", name + "_count", "} "]
                                     + (bounds.map(\.description) + ["+Inf"]).map { ",le=\"\($0)\"} " })
        }
    }

    /// One series' histograms, by family: counts per bucket (not cumulative; the last is above every bound).
    private struct Series: Sendable {
        var counts: [[UInt64]]
        var sums: [Double]
    }

    private let families: [Family]
    /// The family index of each kind exported.
    private let index: [HistogramSet.Kind: Int]
    private let table = NIOLockedValueBox(SeriesTable<Series>())

    /// The histograms `set` exports, except the process-wide `schedule_lateness` (not per series).
    init(_ set: HistogramSet) {
        families = HistogramSet.Kind.allCases.compactMap { kind in
            guard kind != .scheduleLateness, let bounds = set.buckets[kind] else { return nil }
            return Family(kind, bounds: bounds)
        }
        index = Dictionary(uniqueKeysWithValues: families.enumerated().map { ($1.kind, $0) })
    }

    /// A series before its first observation.
    private var empty: Series {
        Series(counts: families.map { [UInt64](repeating: 0, count: $0.bounds.count + 1) },
               sums: [Double](repeating: 0, count: families.count))
    }

    /// Records every value of a probe, under one lock; kinds not exported are ignored.
    func observe(_ key: SeriesKey, _ observations: [(HistogramSet.Kind, Double)]) {
        let located = observations.compactMap { kind, value in index[kind].map { ($0, value) } }
        guard !located.isEmpty else { return }
        table.withLockedValue { table in
            table.update(key, adding: { empty }) { series in
                for (family, value) in located {
                    let bucket = families[family].bounds.firstIndex { value <= $0 } ?? families[family].bounds.count
                    series.counts[family][bucket] += 1
                    series.sums[family] += value
                }
            }
        }
    }

    /// Removes a series' histograms (a target or transport dropped by a reload).
    func forget(_ key: SeriesKey) {
        table.withLockedValue { $0.remove(key) }
    }

    /// Every family in the text format, in parts, with the series that have observations now.
    func parts() -> [ExpositionPart] {
        let table = table.withLockedValue { $0 }
        let (rows, labels) = (table.rows, table.labels)
        return families.indices.flatMap { number in
            let family = families[number]
            let members = rows.indices.filter { rows[$0].value.counts[number].contains { $0 > 0 } }
            return familyParts(FamilyName(name: family.name, help: family.help), type: "histogram", rows: members.count,
                               linesPerRow: family.bounds.count + 3) { range, buffer in
                self.write(family: number, of: rows, labels, members[range], into: &buffer)
            }
        }
    }

    private func write(family number: Int, of rows: [SeriesTable<Series>.Row], _ labels: LabelSets,
                       _ members: ArraySlice<Int>, into buffer: inout ByteBuffer) {
        let pieces = families[number].rendered
        let (bucketName, sumName, countName, close) = (pieces[0], pieces[1], pieces[2], pieces[3])
        // The room of a series' lines but their label sets: every bucket line, the sum and the count.
        let bounds = families[number].bounds.count
        let room = (4..<(bounds + 5)).reduce(0) { $0 + SampleLineCursor.room(name: bucketName.count, labels: 0, closing: pieces[$1].count) }
            + SampleLineCursor.room(name: sumName.count, labels: 0, closing: close.count)
            + SampleLineCursor.room(name: countName.count, labels: 0, closing: close.count)
        labels.withUnsafeSets { sets in
            for row in members {
                let set = sets[row]
                buffer.writeSampleLines(room: room + (bounds + 3) * set.count) { lines in
                    var cumulative: UInt64 = 0
                    for bucket in 0...bounds {  // by index: the counts, iterated, were retained
                        cumulative += rows[row].value.counts[number][bucket]
                        lines.line(bucketName, set, pieces[bucket + 4], cumulative)
                    }
                    lines.line(sumName, set, close, rows[row].value.sums[number])
                    lines.line(countName, set, close, cumulative)
                }
            }
        }
    }
}
