/// Anthropic Messages: `POST {base}/messages` with `x-api-key` and `anthropic-version`; one `message` JSON,
/// or an SSE stream (`message_start`, `content_block_delta` with `delta.text`, `message_delta` with
/// `usage.output_tokens`, `message_stop`; `error` in-band).
public struct AnthropicMessagesDialect: APIDialect {
    public static let name = "anthropic_messages"
    public static let provider = "anthropic"
    public static let transports = ["http", "http_sse"]
    public static let defaultKeyPlacement = APIKeyPlacement.header("x-api-key")
    /// The API version sent in `anthropic-version`.
    static let version = "2023-06-01"

    private struct Request: Encodable {
        struct Message: Encodable {
            var role = "user"
            var content: String
        }
        var model: String
        var max_tokens: Int
        var messages: [Message]
        var stream: Bool?
    }

    private struct Payload: Decodable {
        struct Block: Decodable {
            var type: String?
            var text: String?
        }
        typealias Usage = DialectJSON.TokenUsage
        struct Message: Decodable { var usage: Usage? }
        var type: String?
        var message: Message?
        var content: [Block]?
        var delta: Block?
        var usage: Usage?
        var error: DialectJSON.APIError?
    }

    private let target: TargetConfig

    public init(target: TargetConfig) {
        self.target = target
    }

    public var extraHeaders: [(name: String, value: String)] { [("anthropic-version", Self.version)] }

    public func httpRoute() -> String { "messages" }

    public func httpBody(streaming: Bool, prompt: String) -> [UInt8] {
        DialectJSON.encode(Request(
            model: target.model, max_tokens: target.maxTokens, messages: [.init(content: prompt)],
            stream: streaming ? true : nil))
    }

    public var websocketRoute: String { target.websocketPath ?? "messages" }

    public func websocketRequest(prompt: String) -> [[UInt8]] { [] }

    public func readBody(_ json: [UInt8]) throws(ProbeFailure) -> StreamEvent {
        let payload = try DialectJSON.decode(Payload.self, json)
        if let error = payload.error { throw error.failure("error in response") }
        let text = (payload.content ?? []).map { $0.text ?? "" }.joined()
        return StreamEvent(text: text, inputTokens: payload.usage?.input_tokens,
                           outputTokens: payload.usage?.output_tokens, ends: true)
    }

    public func readEvent(_ data: [UInt8]) throws(ProbeFailure) -> StreamEvent {
        // Text deltas and bookkeeping events are read without `JSONDecoder`; usage and errors in full.
        switch DialectJSON.typedEvent(data) {
        case ("content_block_delta", let delta?)?:
            if let block = delta.members("text"), let text = DialectJSON.text(block[0]) { return StreamEvent(text: text) }
        case ("message_stop", _)?:
            return StreamEvent(ends: true)
        case ("message_start", _)?, ("message_delta", _)?, ("error", _)?, ("content_block_delta", nil)?, nil:
            break
        case _?:
            return .ignored
        }
        let payload = try DialectJSON.decode(Payload.self, data)
        switch payload.type {
        case "message_start":
            return StreamEvent(inputTokens: payload.message?.usage?.input_tokens)
        case "content_block_delta":
            return StreamEvent(text: payload.delta?.text ?? "")
        case "message_delta":
            return StreamEvent(outputTokens: payload.usage?.output_tokens)
        case "message_stop":
            return StreamEvent(ends: true)
        case "error":
            throw (payload.error ?? .unknown).failure("error event")
        default:
            return .ignored
        }
    }
}
