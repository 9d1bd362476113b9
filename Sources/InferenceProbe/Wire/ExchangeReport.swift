/// What the event loop saw of one successful request/response exchange.
struct ExchangeReport: Sendable {
    /// Set when the exchange ran on a connection it opened itself (HTTP transports).
    var phases: ConnectionPhases?
    var requestStarted: ProbeInstant
    var requestWritten: ProbeInstant?
    var firstByte: ProbeInstant?
    var tokens: [ProbeInstant] = []
    var contentChunks = 0
    /// The answer's text (its beginning), for the target's expectations.
    var answer = ""
    var inputTokens: Int?
    var reportedOutputTokens: Int?
    var status: Int?
    var rateLimit: RateLimitStatus?
    /// Round trips of keepalive pings answered since the previous exchange (WebSocket).
    var pingRoundTrips: [Double] = []
    var ended: ProbeInstant

    /// Copies the exchange's instants and counts into a result and marks it a success (or a protocol
    /// error when the response carried no output at all).
    func apply(to result: inout ProbeResult) {
        if let phases {
            result.timeline.connected = phases.connected
            result.timeline.proxyTunnelled = phases.proxyTunnelled
            result.timeline.tlsEstablished = phases.tlsEstablished
        }
        result.timeline.requestStarted = requestStarted
        result.timeline.requestWritten = requestWritten
        result.timeline.firstByte = firstByte
        result.timeline.tokens = tokens
        result.timeline.ended = ended
        result.contentChunks = contentChunks
        result.reportedInputTokens = inputTokens
        result.reportedOutputTokens = reportedOutputTokens
        result.httpStatus = status
        result.rateLimit = rateLimit
        result.pingRoundTrips = pingRoundTrips
        if contentChunks > 0 {
            result.outcome = .success
        } else {
            result.outcome = .protocolError
            result.detail = "the response carried no output text"
        }
    }
}
