/// Which histograms the sidecar exports, and with which buckets (`metrics.histograms` in the configuration):
/// every histogram costs one series per bucket per target × transport, so a fleet probing hundreds of
/// targets trims what it does not chart.
public struct HistogramSet: Sendable, Equatable {
    /// The histograms, by their name without the `inference_probe_` prefix and unit.
    public enum Kind: String, Sendable, CaseIterable {
        case connectionSetup = "connection_setup"
        case timeToFirstByte = "time_to_first_byte"
        case timeToFirstToken = "time_to_first_token"
        case interTokenLatency = "inter_token_latency"
        case interTokenJitter = "inter_token_jitter"
        case requestDuration = "request_duration"
        case outputTokensPerSecond = "output_tokens_per_second"
        case websocketPingRoundTrip = "websocket_ping_rtt"
        case scheduleLateness = "schedule_lateness"

        /// The buckets used unless the configuration says otherwise.
        public var defaultBuckets: [Double] {
            switch self {
            case .connectionSetup, .websocketPingRoundTrip: MetricCatalog.connectBuckets
            case .timeToFirstByte, .timeToFirstToken: MetricCatalog.ttftBuckets
            case .interTokenLatency, .interTokenJitter: MetricCatalog.interTokenBuckets
            case .requestDuration: MetricCatalog.durationBuckets
            case .outputTokensPerSecond: MetricCatalog.tokenRateBuckets
            case .scheduleLateness: MetricCatalog.latenessBuckets
            }
        }
    }

    /// Buckets of each exported histogram; a kind missing here is not exported.
    public private(set) var buckets: [Kind: [Double]]

    /// Every histogram with its default buckets.
    public init() {
        buckets = Dictionary(uniqueKeysWithValues: Kind.allCases.map { ($0, $0.defaultBuckets) })
    }

    /// Exports `kind` with `buckets` (ascending, positive), or its default buckets when `nil`.
    public mutating func enable(_ kind: Kind, buckets: [Double]? = nil) {
        self.buckets[kind] = buckets ?? kind.defaultBuckets
    }

    /// Leaves `kind` out of the exposition.
    public mutating func disable(_ kind: Kind) {
        buckets[kind] = nil
    }
}
