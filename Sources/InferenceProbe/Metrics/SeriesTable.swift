/// Per-series values kept by the sidecar for its exposition (outcome counters, histograms), in the order
/// the series came, each with its label set rendered once for the text format.
struct SeriesTable<Value: Sendable>: Sendable {
    private struct Row: Sendable {
        var labels: [UInt8]
        var value: Value
    }

    private var order: [SeriesKey] = []
    private var rows: [SeriesKey: Row] = [:]

    /// Adds `key` with `make()` unless it is there already.
    mutating func add(_ key: SeriesKey, _ make: () -> Value) {
        guard rows[key] == nil else { return }
        order.append(key)
        rows[key] = Row(labels: exposedLabelBytes(key.labels), value: make())
    }

    /// Changes the value of `key`, adding it with `make()` first if needed.
    mutating func update(_ key: SeriesKey, adding make: () -> Value, _ change: (inout Value) -> Void) {
        add(key, make)
        change(&rows[key]!.value)
    }

    mutating func remove(_ key: SeriesKey) {
        guard rows.removeValue(forKey: key) != nil else { return }
        order.removeAll { $0 == key }
    }

    /// Every series in order: its key, rendered labels and value.
    var all: [(key: SeriesKey, labels: [UInt8], value: Value)] {
        order.compactMap { key in rows[key].map { (key, $0.labels, $0.value) } }
    }
}
