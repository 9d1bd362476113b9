/// Collects what a dialect read from a stream: the arrival instant of every event carrying output text
/// (bounded), the answer's text (its first `maxAnswerBytes`, for `expect:`), the token counts the API
/// reported, in-band rate limits, and whether its terminal event came.
struct TokenStreamAccumulator {
    /// Text events kept at most; a stream with more is oversize (memory stays bounded).
    static let maxChunks = 65_536
    /// Answer text kept for the expectation check.
    static let maxAnswerBytes = 16 << 10

    private(set) var tokens: [ProbeInstant] = []
    private(set) var answer = ""
    private(set) var inputTokens: Int?
    private(set) var outputTokens: Int?
    private(set) var rateLimit: RateLimitStatus?
    /// When the API's terminal event arrived.
    private(set) var ended: ProbeInstant?

    mutating func receive(_ event: StreamEvent, at instant: ProbeInstant) throws(ProbeFailure) {
        if let count = event.inputTokens { inputTokens = count }
        if let count = event.outputTokens { outputTokens = count }
        if let status = event.rateLimit { rateLimit = (rateLimit ?? RateLimitStatus()).updated(with: status) }
        if event.ends { ended = instant }
        guard event.hasText else { return }
        guard tokens.count < Self.maxChunks else {
            throw ProbeFailure(.oversize, "more than \(Self.maxChunks) content chunks")
        }
        tokens.append(instant)
        if answer.utf8.count < Self.maxAnswerBytes { answer += event.text }
    }

    /// Copies the stream's figures into `report`.
    func fill(_ report: inout ExchangeReport) {
        report.tokens = tokens
        report.contentChunks = tokens.count
        report.answer = answer
        report.inputTokens = inputTokens ?? report.inputTokens
        report.reportedOutputTokens = outputTokens
        report.rateLimit = report.rateLimit.map { $0.updated(with: rateLimit) } ?? rateLimit
        if let ended { report.ended = ended }
    }
}
