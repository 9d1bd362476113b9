import Foundation

/// The chat-completions request a probe sends (OpenAI wire format).
struct ChatCompletionRequest: Encodable {
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

    init(model: String, prompt: String, maxTokens: Int, stream: Bool) {
        self.model = model
        self.messages = [Message(content: prompt)]
        self.max_tokens = maxTokens
        self.stream = stream
        self.stream_options = stream ? StreamOptions() : nil
    }

    func jsonBytes() -> [UInt8] {
        // Encoding plain strings and integers cannot fail.
        Array((try? JSONEncoder().encode(self)) ?? Data())
    }
}

/// The parts of a `chat.completion` or `chat.completion.chunk` object a probe reads.
struct ChatCompletionPayload: Decodable {
    struct Choice: Decodable {
        struct Text: Decodable {
            var content: String?
        }
        var delta: Text?
        var message: Text?
    }
    struct Usage: Decodable {
        var completion_tokens: Int?
    }
    struct APIError: Decodable {
        var message: String?
        var type: String?
        var code: String?

        /// The message cut short and on one line, fit for a failure's detail.
        var summary: String? {
            message.map { String($0.prefix(200)).replacingOccurrences(of: "\n", with: " ") }
        }

        /// An error object sent in place of a chunk: a rate limit, or another refusal by the API.
        var failure: ProbeFailure {
            let text = "error in stream: \(summary ?? "unknown")"
            let rateLimited = [type, code].contains { $0?.contains("rate_limit") == true }
            return ProbeFailure(rateLimited ? .rateLimited : .httpError, text)
        }
    }
    var choices: [Choice]?
    var usage: Usage?
    var error: APIError?

    /// Decodes one JSON object; a malformed one is a protocol error.
    static func decode(_ bytes: some Collection<UInt8>) throws(ProbeFailure) -> ChatCompletionPayload {
        do {
            return try JSONDecoder().decode(ChatCompletionPayload.self, from: Data(bytes))
        } catch {
            throw ProbeFailure(.protocolError, "malformed JSON in response (\(bytes.count) bytes)")
        }
    }

    /// `true` when any choice carries non-empty output text.
    var hasContent: Bool {
        choices?.contains { !($0.delta?.content ?? $0.message?.content ?? "").isEmpty } ?? false
    }

    /// A message from an `{"error": {...}}` object, cut short and on one line.
    static func errorMessage(in bytes: some Collection<UInt8>) -> String? {
        (try? JSONDecoder().decode(ChatCompletionPayload.self, from: Data(bytes)))?.error?.summary
    }
}

/// Counts the content-bearing chunks of a token stream and keeps their arrival instants (bounded).
struct TokenStreamAccumulator {
    /// Chunks kept at most; a stream with more is a protocol error (memory stays bounded).
    static let maxChunks = 65_536

    private(set) var tokens: [ProbeInstant] = []
    private(set) var reportedOutputTokens: Int?

    /// Takes one chunk JSON that arrived at `instant`.
    mutating func receive(_ json: some Collection<UInt8>, at instant: ProbeInstant) throws(ProbeFailure) {
        let payload = try ChatCompletionPayload.decode(json)
        if let error = payload.error { throw error.failure }
        if let tokens = payload.usage?.completion_tokens { reportedOutputTokens = tokens }
        guard payload.hasContent else { return }
        guard tokens.count < Self.maxChunks else {
            throw ProbeFailure(.protocolError, "more than \(Self.maxChunks) content chunks")
        }
        tokens.append(instant)
    }
}
