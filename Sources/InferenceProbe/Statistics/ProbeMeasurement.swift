/// The figures people alert on, derived from one `ProbeResult`'s timeline. All durations are in seconds.
///
/// Request-side figures (TTFB, TTFT, duration) are measured from `requestStarted`, so they compare across
/// transports whether or not a connection was opened; the connection's own cost is `connectionSetup`.
public struct ProbeMeasurement: Sendable, Equatable {
    /// DNS + TCP + TLS + WebSocket upgrade, when this probe opened a connection.
    public var connectionSetup: Double?
    /// Each connection phase that happened, in order: `dns`, `connect`, `tls`, `websocket_upgrade`.
    public var connectionPhases: [ConnectionPhase]
    /// Request start to the first response byte.
    public var timeToFirstByte: Double?
    /// Request start to the first chunk carrying output text (streaming transports only).
    public var timeToFirstToken: Double?
    /// Gaps between consecutive content chunks (streaming transports only).
    public var interTokenLatencies: [Double]
    /// Standard deviation of those gaps: how evenly one stream flowed (needs two gaps or more).
    public var interTokenJitter: Double?
    /// Request start to the end of the response.
    public var duration: Double?
    /// Output tokens.
    public var outputTokens: Int
    /// Generation speed: for streams, tokens after the first divided by first-token-to-end time;
    /// for a single JSON response, tokens divided by `duration`.
    public var outputTokensPerSecond: Double?

    /// Derives the figures of a result. Request-side figures are only set for successful probes.
    public init(_ result: ProbeResult) {
        let t = result.timeline
        var phases: [ConnectionPhase] = []
        var previous = t.started
        for (name, instant) in [("dns", t.resolved), ("connect", t.connected), ("proxy_connect", t.proxyTunnelled), ("tls", t.tlsEstablished),
                                ("websocket_upgrade", t.upgraded)] {
            guard let instant else { continue }
            phases.append(ConnectionPhase(name: name, seconds: instant.seconds(since: previous)))
            previous = instant
        }
        connectionPhases = result.connectionReused ? [] : phases
        let lastSetup = [t.upgraded, t.tlsEstablished, t.proxyTunnelled, t.connected].compactMap { $0 }.first
        connectionSetup = result.connectionReused ? nil : lastSetup.map { $0.seconds(since: t.started) }
        outputTokens = result.outcome == .success ? result.outputTokens : 0

        guard result.outcome == .success, let origin = t.requestStarted, let end = t.ended else {
            timeToFirstByte = nil
            timeToFirstToken = nil
            interTokenLatencies = []
            interTokenJitter = nil
            duration = nil
            outputTokensPerSecond = nil
            return
        }
        timeToFirstByte = t.firstByte.map { $0.seconds(since: origin) }
        let total = end.seconds(since: origin)
        duration = total
        if result.streamed, let first = t.tokens.first {
            timeToFirstToken = first.seconds(since: origin)
            interTokenLatencies = zip(t.tokens.dropFirst(), t.tokens).map { $0.seconds(since: $1) }
            interTokenJitter = Self.standardDeviation(interTokenLatencies)
            let generation = end.seconds(since: first)
            outputTokensPerSecond = outputTokens > 1 && generation > 0
                ? Double(outputTokens - 1) / generation : nil
        } else {
            timeToFirstToken = nil
            interTokenLatencies = []
            interTokenJitter = nil
            outputTokensPerSecond = outputTokens > 0 && total > 0 ? Double(outputTokens) / total : nil
        }
    }
}

extension ProbeMeasurement {
    /// Population standard deviation; `nil` for fewer than two values.
    static func standardDeviation(_ values: [Double]) -> Double? {
        guard values.count >= 2 else { return nil }
        let mean = values.reduce(0, +) / Double(values.count)
        return (values.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(values.count)).squareRoot()
    }
}

/// One step of opening a connection and how long it took.
public struct ConnectionPhase: Sendable, Equatable {
    /// Every phase name, in order.
    public static let names = ["dns", "connect", "proxy_connect", "tls", "websocket_upgrade"]

    /// `dns`, `connect`, `proxy_connect` (through an egress proxy), `tls` or `websocket_upgrade`; the
    /// `phase` label value.
    public var name: String
    public var seconds: Double
}

extension ProbeInstant {
    /// Seconds elapsed from `earlier` to `self` (negative if `earlier` is later).
    public func seconds(since earlier: ProbeInstant) -> Double {
        earlier.duration(to: self).seconds
    }
}

extension Duration {
    /// The duration as a floating-point number of seconds.
    public var seconds: Double {
        let (s, atto) = components
        return Double(s) + Double(atto) / 1e18
    }
}
