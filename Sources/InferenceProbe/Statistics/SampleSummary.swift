/// Exact summary statistics of a set of samples: count, mean, standard deviation, nearest-rank
/// percentiles, min and max.
public struct SampleSummary: Sendable, Equatable {
    /// The statistics, by their `stat` label value.
    public enum Stat: String, Sendable, CaseIterable {
        case mean, stddev, p50, p90, p99, min, max
    }

    public var count: Int
    public var mean: Double
    /// Sample standard deviation (n − 1 in the denominator; 0 for one sample).
    public var stddev: Double
    public var p50: Double
    public var p90: Double
    public var p99: Double
    public var min: Double
    public var max: Double

    /// `nil` for no samples.
    public init?(_ values: [Double]) {
        guard !values.isEmpty else { return nil }
        let sorted = values.sorted()
        let n = sorted.count
        let average = sorted.reduce(0, +) / Double(n)
        let squares = sorted.reduce(0) { $0 + ($1 - average) * ($1 - average) }
        count = n
        mean = average
        stddev = n > 1 ? (squares / Double(n - 1)).squareRoot() : 0
        p50 = Self.percentile(sorted, 50)
        p90 = Self.percentile(sorted, 90)
        p99 = Self.percentile(sorted, 99)
        min = sorted[0]
        max = sorted[count - 1]
    }

    /// The nearest-rank percentile: the smallest sample with at least `percent`% of the samples at or below it.
    static func percentile(_ sorted: [Double], _ percent: Double) -> Double {
        let rank = Int((percent / 100 * Double(sorted.count)).rounded(.up))
        return sorted[Swift.min(Swift.max(rank, 1), sorted.count) - 1]
    }

    public subscript(stat: Stat) -> Double {
        switch stat {
        case .mean: mean
        case .stddev: stddev
        case .p50: p50
        case .p90: p90
        case .p99: p99
        case .min: min
        case .max: max
        }
    }
}
