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
        if let answer = Self.plainAnswer(json) { return answer }
        let payload = try DialectJSON.decode(Payload.self, json)
        if let error = payload.error { throw error.failure("error in response") }
        return StreamEvent(text: payload.text, inputTokens: payload.usage?.prompt_tokens,
                           outputTokens: payload.usage?.completion_tokens, ends: true)
    }

    public func readEvent(_ data: [UInt8]) throws(ProbeFailure) -> StreamEvent {
        if data.elementsEqual("[DONE]".utf8) { return StreamEvent(ends: true) }
        if let chunk = Self.textChunk(data) { return chunk }
        let payload = try DialectJSON.decode(Payload.self, data)
        if let error = payload.error { throw error.failure("error in stream") }
        return StreamEvent(text: payload.text, inputTokens: payload.usage?.prompt_tokens,
                           outputTokens: payload.usage?.completion_tokens)
    }

    /// The common answer, read without `JSONDecoder`: one choice with a `message`, integer usage, no
    /// error. nil for anything else, which is decoded in full.
    private static func plainAnswer(_ json: [UInt8]) -> StreamEvent? {
        guard let fields = JSONSlice.document(json)?.members("choices", "usage", "error"), fields[2]?.isNull ?? true,
              let choices = fields[0]?.elements(), choices.count == 1,
              let parts = choices[0].members("message", "delta"), parts[1] == nil,
              let content = parts[0]?.members("content"), let text = DialectJSON.text(content[0]) else { return nil }
        var usage: [JSONSlice?] = [nil, nil]
        if let reported = fields[1], !reported.isNull {
            guard let counts = reported.members("prompt_tokens", "completion_tokens") else { return nil }
            usage = counts
        }
        guard let input = DialectJSON.count(usage[0]), let output = DialectJSON.count(usage[1]) else { return nil }
        return StreamEvent(text: text, inputTokens: input, outputTokens: output, ends: true)
    }

    /// The common chunk, read without `JSONDecoder`: one choice with a `delta`, no usage, no error. nil
    /// for anything else (the final usage chunk, errors, several choices), which is decoded in full.
    private static func textChunk(_ data: [UInt8]) -> StreamEvent? {
        guard let fields = JSONSlice.document(data)?.members("choices", "usage", "error"),
              fields[1]?.isNull ?? true, fields[2]?.isNull ?? true,
              let choices = fields[0]?.elements(), choices.count == 1,
              let parts = choices[0].members("delta", "message"), parts[1] == nil,
              let content = parts[0]?.members("content"), let text = DialectJSON.text(content[0]) else { return nil }
        return StreamEvent(text: text)
    }
}
