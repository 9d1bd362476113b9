/// The OpenAI Realtime API, text only, over WebSocket (`{base}/realtime?model=M`). A new session is set to
/// text output (`session.update`); each probe adds a user message (`conversation.item.create`) and asks for
/// a response (`response.create`), read from `response.output_text.delta` (older servers:
/// `response.text.delta`) up to `response.done`, whose `usage` gives the token count.
public struct RealtimeDialect: APIDialect {
    public static let name = "realtime"
    public static let provider = "openai"
    public static let transports = ["websocket"]

    private struct Event: Decodable {
        struct Response: Decodable {
            typealias Usage = DialectJSON.TokenUsage
            struct StatusDetails: Decodable {
                var type: String?
                var reason: String?
                var error: DialectJSON.APIError?
            }
            var status: String?
            var status_details: StatusDetails?
            var usage: Usage?
        }
        /// One entry of `rate_limits.updated`.
        struct RateLimit: Decodable {
            var name: String?
            var remaining: Double?
            var reset_seconds: Double?
        }
        var type: String?
        var delta: String?
        var response: Response?
        var error: DialectJSON.APIError?
        var rate_limits: [RateLimit]?

        /// What `rate_limits.updated` says: the requests and tokens left.
        var rateLimit: RateLimitStatus? {
            guard let limits = rate_limits else { return nil }
            func remaining(_ name: String) -> Int? { limits.first { $0.name == name }?.remaining.map { Int($0) } }
            return RateLimitStatus(remainingRequests: remaining("requests"), remainingTokens: remaining("tokens"))
        }
    }

    private let target: TargetConfig

    public init(target: TargetConfig) {
        self.target = target
    }

    public func httpRoute() -> String {
        preconditionFailure("the Realtime API has no HTTP transport (the configuration rejects it)")
    }

    public func httpBody(streaming: Bool, prompt: String) -> [UInt8] {
        preconditionFailure("the Realtime API has no HTTP transport (the configuration rejects it)")
    }

    public var websocketRoute: String {
        target.websocketPath ?? "realtime?model=\(BaseURL.percentEncoded(target.model))"
    }

    public func websocketOpening() -> [[UInt8]] {
        [Array(#"{"type":"session.update","session":{"type":"realtime","output_modalities":["text"]}}"#.utf8)]
    }

    public func websocketRequest(prompt: String) -> [[UInt8]] {
        struct Item: Encodable {
            struct Content: Encodable {
                var type = "input_text"
                var text: String
            }
            var type = "message"
            var role = "user"
            var content: [Content]
        }
        struct Create: Encodable {
            var type = "conversation.item.create"
            var item: Item
        }
        struct ResponseCreate: Encodable {
            struct Response: Encodable {
                var output_modalities = ["text"]
                var max_output_tokens: Int
            }
            var type = "response.create"
            var response: Response
        }
        return [
            DialectJSON.encode(Create(item: Item(content: [.init(text: prompt)]))),
            DialectJSON.encode(ResponseCreate(response: .init(max_output_tokens: target.maxTokens))),
        ]
    }

    /// Realtime sessions end after 60 minutes.
    public var websocketSessionLimit: Duration? { .seconds(55 * 60) }

    public func readBody(_ json: [UInt8]) throws(ProbeFailure) -> StreamEvent {
        throw ProbeFailure(.protocolError, "the Realtime API has no JSON answer")
    }

    public func readEvent(_ data: [UInt8]) throws(ProbeFailure) -> StreamEvent {
        // Text deltas and bookkeeping events are read without `JSONDecoder`; the end, errors and rate limits in full.
        switch DialectJSON.typedEvent(data) {
        case ("response.output_text.delta", let delta)?, ("response.text.delta", let delta)?:
            if let text = DialectJSON.text(delta) { return StreamEvent(text: text) }
        case ("session.created", _)?, ("session.updated", _)?:
            return StreamEvent(isSessionEvent: true)
        case ("response.done", _)?, ("error", _)?, ("rate_limits.updated", _)?, nil:
            break
        case _?:
            return .ignored
        }
        let event = try DialectJSON.decode(Event.self, data)
        switch event.type {
        case "response.output_text.delta", "response.text.delta":
            return StreamEvent(text: event.delta ?? "")
        case "response.done":
            let response = event.response
            switch response?.status {
            case "completed", nil:
                let usage = response?.usage
                return StreamEvent(inputTokens: usage?.input_tokens, outputTokens: usage?.output_tokens, ends: true)
            case let status?:
                let details = response?.status_details
                if let error = details?.error { throw error.failure("response \(status)") }
                let reason = details?.reason ?? details?.type ?? "no reason given"
                throw ProbeFailure(status == "failed" ? .serverError : .protocolError, "response \(status): \(reason)")
            }
        case "error":
            throw (event.error ?? .unknown).failure("error event")
        case "rate_limits.updated":
            return StreamEvent(isSessionEvent: true, rateLimit: event.rateLimit)
        case "session.created", "session.updated":
            return StreamEvent(isSessionEvent: true)
        default:
            return .ignored
        }
    }
}
