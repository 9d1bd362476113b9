/// OpenAI chat completions: `POST {base}/chat/completions`, one `chat.completion` JSON or an SSE stream of
/// `chat.completion.chunk` objects ending in `data: [DONE]`. Over WebSocket (`{base}/stream`), the dialect
/// of the embedded simulator and of vendors that copied it: the streaming request as one text message,
/// one message per chunk, then a `[DONE]` message.
public struct ChatCompletionsDialect: APIDialect {
    public static let name = "chat_completions"
    public static let provider = "openai"
    public static let transports = ["http", "http_sse", "websocket"]

    private struct Request: Encodable {
        struct Message: Encodable {
            var role = "user"
            var content: String
        }
        struct StreamOptions: Encodable {
            var include_usage = true
        }
        var model: String
        var messages: [Message]
        var max_tokens: Int
        var stream: Bool
        var stream_options: StreamOptions?
    }

    /// The parts of a `chat.completion` or `chat.completion.chunk` object a probe reads.
    private struct Payload: Decodable {
        struct Choice: Decodable {
            struct Text: Decodable { var content: String? }
            var delta: Text?
            var message: Text?
        }
        struct Usage: Decodable {
            var prompt_tokens: Int?
            var completion_tokens: Int?
        }
        var choices: [Choice]?
        var usage: Usage?
        var error: DialectJSON.APIError?

        var text: String {
            (choices ?? []).map { $0.delta?.content ?? $0.message?.content ?? "" }.joined()
        }
    }

    private let target: TargetConfig

    public init(target: TargetConfig) {
        self.target = target
    }

    public func httpRoute() -> String { "chat/completions" }

    public func httpBody(streaming: Bool, prompt: String) -> [UInt8] {
        DialectJSON.encode(Request(
            model: target.model, messages: [.init(content: prompt)], max_tokens: target.maxTokens,
            stream: streaming, stream_options: streaming ? .init() : nil))
    }

    public var websocketRoute: String { target.websocketPath ?? "stream" }

    public func websocketRequest(prompt: String) -> [[UInt8]] {
        [httpBody(streaming: true, prompt: prompt)]
    }

    public func readBody(_ json: [UInt8]) throws(ProbeFailure) -> StreamEvent {
        var event = try Self.read(json, in: "response")
        event.ends = true
        return event
    }

    public func readEvent(_ data: [UInt8]) throws(ProbeFailure) -> StreamEvent {
        if data.elementsEqual("[DONE]".utf8) { return StreamEvent(ends: true) }
        return try Self.read(data, in: "stream")
    }

    /// An answer or a chunk: read without `JSONDecoder` when it is a common one, decoded in full otherwise.
    private static func read(_ json: [UInt8], in context: String) throws(ProbeFailure) -> StreamEvent {
        if let event = quickRead(json) { return event }
        let payload = try DialectJSON.decode(Payload.self, json)
        if let error = payload.error { throw error.failure("error in \(context)") }
        return StreamEvent(text: payload.text, inputTokens: payload.usage?.prompt_tokens,
                           outputTokens: payload.usage?.completion_tokens)
    }

    /// The common answer or chunk, read as `Payload` would be but without `JSONDecoder`: no or one choice,
    /// its text in a `delta` or a `message`, integer usage (the last chunk), no error. nil for anything
    /// else (several choices, errors, a member of another type), which is decoded in full.
    private static func quickRead(_ json: [UInt8]) -> StreamEvent? {
        guard let fields = JSONSlice.object(json, members: "choices", "usage", "error"), fields[2]?.isNull ?? true else { return nil }
        var text = ""
        if let choices = fields[0], !choices.isNull {
            guard let only = choices.onlyElement() else { return nil }
            if let choice = only {
                guard let parts = choice.members("delta", "message"), parts[0] == nil || parts[1] == nil else { return nil }
                if let holder = parts[0] ?? parts[1], !holder.isNull {
                    guard let content = holder.members("content"), let read = DialectJSON.text(content[0]) else { return nil }
                    text = read
                }
            }
        }
        var usage: (input: JSONSlice?, output: JSONSlice?) = (nil, nil)
        if let reported = fields[1], !reported.isNull {
            guard let counts = reported.members("prompt_tokens", "completion_tokens") else { return nil }
            usage = (counts[0], counts[1])
        }
        guard let input = DialectJSON.count(usage.input), let output = DialectJSON.count(usage.output) else { return nil }
        return StreamEvent(text: text, inputTokens: input, outputTokens: output)
    }
}
