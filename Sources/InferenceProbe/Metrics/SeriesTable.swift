/// Per-series values kept by the sidecar for its exposition (outcome counters, histograms), in the order
/// the series came, with their label sets rendered once for the text format (`labels`, in the same order).
struct SeriesTable<Value: Sendable>: Sendable {
    struct Row: Sendable {
        var key: SeriesKey
        var value: Value
    }

    /// Every series in order. A copy is cheap (the array is shared until the table next changes), so a
    /// scrape takes it and writes without holding the lock.
    private(set) var rows: [Row] = []
    /// The label set of each row, by its position in `rows`.
    private(set) var labels = LabelSets()
    /// Where each key's row is in `rows`; nil after a removal until it is next needed (a reload removes
    /// series one by one, and re-indexing after each would be quadratic).
    private var index: [SeriesKey: Int]? = [:]

    /// Adds `key` with `make()` unless it is there already.
    mutating func add(_ key: SeriesKey, _ make: () -> Value) {
        _ = position(key, adding: make)
    }

    /// Changes the value of `key`, adding it with `make()` first if needed.
    mutating func update(_ key: SeriesKey, adding make: () -> Value, _ change: (inout Value) -> Void) {
        let row = position(key, adding: make)
        change(&rows[row].value)
    }

    mutating func remove(_ key: SeriesKey) {
        guard let position = rows.firstIndex(where: { $0.key == key }) else { return }
        rows.remove(at: position)
        labels.remove(at: position)
        index = nil
    }

    /// Where each key's row is (and its label set in `labels`).
    mutating func positions() -> [SeriesKey: Int] {
        let index = self.index ?? Self.index(of: rows)
        self.index = index
        return index
    }

    /// Where each key's row is in `rows`, built anew (after a removal).
    private static func index(of rows: [Row]) -> [SeriesKey: Int] {
        Dictionary(uniqueKeysWithValues: rows.enumerated().map { ($1.key, $0) })
    }

    private mutating func position(_ key: SeriesKey, adding make: () -> Value) -> Int {
        // Taken out of `self` so that adding to it does not copy it.
        var index = self.index.take() ?? Self.index(of: rows)
        defer { self.index = index }
        if let position = index[key] { return position }
        index[key] = rows.count
        rows.append(Row(key: key, value: make()))
        labels.append(exposedLabelBytes(key.labels))
        return rows.count - 1
    }
}
