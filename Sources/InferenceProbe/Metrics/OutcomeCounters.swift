import NIOConcurrencyHelpers
import NIOCore
import Prometheus

/// Which outcome, skip-reason and reconnect-reason counters a series exports (`metrics.outcome_counters`).
public enum OutcomeCounterLines: String, Sendable, CaseIterable {
    /// Every value of the label, from 0: `rate()` and `increase()` count a series' first failure of a kind.
    case all
    /// Only the values counted at least once: a fleet's exposition loses 18 outcome lines per series that
    /// are almost always 0, and a failure's counter appears at its first count (which `increase()` then
    /// misses: it needs two samples of a series).
    case observed
}

/// The per-series counters whose last label takes its values from a fixed list: probes by `outcome`,
/// skipped probes by `reason`, WebSocket reconnects by `reason`. Each series keeps one array of counts,
/// created with every count at 0 (and exported from 0 unless `lines` is `.observed`), and the families are
/// written into the exposition directly. In the registry they were 24 label sets per series, and
/// swift-prometheus copies a family's dictionary on every one it adds or removes: 1,000 targets x 3 took
/// minutes to start.
final class OutcomeCounters: Sendable {
    /// A family: its name and help, its last label, and the values that label takes.
    struct Family: Sendable {
        var name: String
        var help: String
        var label: String
        var values: [String]
        /// Only series of this transport have the family (nil: every series).
        var transport: String?
    }

    let families: [Family]
    /// `.observed`: counts of 0 are not written.
    private let lines: OutcomeCounterLines
    /// For each family: its name, then `,outcome="success"} ` for each of its values.
    private let rendered: [RenderedBytes]
    /// Each series' counts, by family and value.
    private let table = NIOLockedValueBox(SeriesTable<[[UInt64]]>())

    init(_ families: [Family], lines: OutcomeCounterLines = .all) {
        (self.families, self.lines) = (families, lines)
        rendered = families.map { family in
            RenderedBytes([family.name] + family.values.map { ",\(family.label)=\"\($0)\"} " })
        }
    }

    private var zeros: [[UInt64]] { families.map { [UInt64](repeating: 0, count: $0.values.count) } }

    /// Gives `key` its counters, all 0; a key already known keeps its counts.
    func register(_ key: SeriesKey) {
        table.withLockedValue { $0.add(key) { zeros } }
    }

    func forget(_ key: SeriesKey) {
        table.withLockedValue { $0.remove(key) }
    }

    /// Adds one to the counter of `value` in family number `family` of `key` (registering `key` if needed).
    func increment(_ key: SeriesKey, family: Int, value: String) {
        guard let index = families[family].values.firstIndex(of: value) else { return }
        table.withLockedValue { $0.update(key, adding: { zeros }) { $0[family][index] += 1 } }
    }

    /// The families in the text format, in parts, with all their series' counts of now.
    func parts() -> [ExpositionPart] {
        let table = table.withLockedValue { $0 }
        let (rows, labels) = (table.rows, table.labels)
        return families.indices.flatMap { number in
            let family = families[number]
            let members = rows.indices.filter { row in
                (family.transport == nil || rows[row].key.transport == family.transport)
                    && (lines == .all || rows[row].value[number].contains { $0 > 0 })
            }
            return familyParts(FamilyName(name: family.name, help: family.help), type: "counter", rows: members.count,
                               linesPerRow: family.values.count) { range, buffer in
                self.write(family: number, of: rows, labels, members[range], into: &buffer)
            }
        }
    }

    private func write(family number: Int, of rows: [SeriesTable<[[UInt64]]>.Row], _ labels: LabelSets,
                       _ members: ArraySlice<Int>, into buffer: inout ByteBuffer) {
        let pieces = rendered[number]
        let name = pieces[0]
        // The room of a series' lines: one line for each value.
        let values = families[number].values.count
        let closings = pieces.pieces.dropFirst().reduce(0) { $0 + $1.count }
        labels.withUnsafeSets { sets in
            for row in members {
                let set = sets[row]
                let room = values * SampleLineCursor.room(name: name.count, labels: set.count, closing: 0) + closings
                buffer.writeSampleLines(room: room) { cursor in
                    for value in 0..<values {  // by index: the counts, iterated, were retained
                        let count = rows[row].value[number][value]
                        if count > 0 || lines == .all { cursor.line(name, set, pieces[value + 1], count) }
                    }
                }
            }
        }
    }
}
