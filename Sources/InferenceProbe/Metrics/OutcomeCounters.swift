import NIOConcurrencyHelpers
import Prometheus

/// The per-series counters whose last label takes its values from a fixed list: probes by `outcome`,
/// skipped probes by `reason`, WebSocket reconnects by `reason`. Each series keeps one array of counts,
/// created with every count at 0 (so `rate()` sees the first failure), and the families are written into
/// the exposition directly. In the registry they were 24 label sets per series, and swift-prometheus copies
/// a family's dictionary on every one it adds or removes: 1,000 targets x 3 took minutes to start.
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

    private struct State {
        var order: [SeriesKey] = []
        var counts: [SeriesKey: [[UInt64]]] = [:]
    }

    let families: [Family]
    private let state = NIOLockedValueBox(State())

    init(_ families: [Family]) {
        self.families = families
    }

    /// Gives `key` its counters, all 0; a key already known keeps its counts.
    func register(_ key: SeriesKey) {
        state.withLockedValue { add(key, to: &$0) }
    }

    private func add(_ key: SeriesKey, to state: inout State) {
        guard state.counts[key] == nil else { return }
        state.order.append(key)
        state.counts[key] = families.map { [UInt64](repeating: 0, count: $0.values.count) }
    }

    func forget(_ key: SeriesKey) {
        state.withLockedValue { state in
            guard state.counts.removeValue(forKey: key) != nil else { return }
            state.order.removeAll { $0 == key }
        }
    }

    /// Adds one to the counter of `value` in family number `family` of `key` (registering `key` if needed).
    func increment(_ key: SeriesKey, family: Int, value: String) {
        guard let index = families[family].values.firstIndex(of: value) else { return }
        state.withLockedValue { state in
            add(key, to: &state)
            state.counts[key]?[family][index] += 1
        }
    }

    /// The families in the text format, each with all its series.
    func write(into buffer: inout [UInt8]) {
        let (order, counts) = state.withLockedValue { ($0.order, $0.counts) }
        let prefixes = order.map { exposedLabelBytes($0.labels) }
        for (number, family) in families.enumerated() {
            let keys = order.indices.filter { family.transport == nil || order[$0].transport == family.transport }
            guard !keys.isEmpty else { continue }
            buffer.appendFamilyHeader(family.name, help: family.help, type: "counter")
            // `,outcome="success"} ` for each value, rendered once.
            let name = Array(family.name.utf8)
            let suffixes = family.values.map { Array(",\(family.label)=\"\($0)\"} ".utf8) }
            for index in keys {
                guard let values = counts[order[index]]?[number] else { continue }
                for (suffix, count) in zip(suffixes, values) {
                    buffer.append(contentsOf: name)
                    buffer.append(UInt8(ascii: "{"))
                    buffer.append(contentsOf: prefixes[index])
                    buffer.append(contentsOf: suffix)
                    buffer.appendDecimal(count)
                    buffer.append(UInt8(ascii: "\n"))
                }
            }
        }
    }
}
