/// Collects what a dialect read from a stream: the arrival instant of every event carrying output text
/// (bounded), the token count the API reported, and whether its terminal event came.
struct TokenStreamAccumulator {
    /// Text events kept at most; a stream with more is a protocol error (memory stays bounded).
    static let maxChunks = 65_536

    private(set) var tokens: [ProbeInstant] = []
    private(set) var reportedOutputTokens: Int?
    /// When the API's terminal event arrived.
    private(set) var ended: ProbeInstant?

    mutating func receive(_ event: StreamEvent, at instant: ProbeInstant) throws(ProbeFailure) {
        if let count = event.outputTokens { reportedOutputTokens = count }
        if event.ends { ended = instant }
        guard event.hasText else { return }
        guard tokens.count < Self.maxChunks else {
            throw ProbeFailure(.protocolError, "more than \(Self.maxChunks) content chunks")
        }
        tokens.append(instant)
    }

    /// Copies the stream's figures into `report`.
    func fill(_ report: inout ExchangeReport) {
        report.tokens = tokens
        report.contentChunks = tokens.count
        report.reportedOutputTokens = reportedOutputTokens
        if let ended { report.ended = ended }
    }
}
