import Foundation

/// The parts of an OpenAI chat-completions request the simulator reads.
struct ChatRequest: Decodable {
    struct Message: Decodable {
        var role: String
        var content: MessageContent?
    }
    struct StreamOptions: Decodable {
        var include_usage: Bool?
    }
    var model: String
    var messages: [Message]
    var stream: Bool?
    var max_tokens: Int?
    var max_completion_tokens: Int?
    var stream_options: StreamOptions?

    var maxTokens: Int? { max_completion_tokens ?? max_tokens }
    var includeUsage: Bool { stream_options?.include_usage ?? false }

    /// A rough prompt size for `usage.prompt_tokens`: whitespace-separated words.
    var promptTokens: Int {
        messages.reduce(0) { $0 + ($1.content?.text.wordCount ?? 0) }
    }
}

/// Message content: a string, or a list of parts of which the text parts are read.
struct MessageContent: Decodable {
    var text: String

    init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if let string = try? container.decode(String.self) {
            text = string
            return
        }
        struct Part: Decodable { var text: String? }
        text = try container.decode([Part].self).compactMap(\.text).joined(separator: " ")
    }
}

/// JSON bodies and chunks the simulator sends, in the OpenAI wire format.
enum ChatWire {
    struct Usage: Encodable {
        var prompt_tokens: Int
        var completion_tokens: Int
        var total_tokens: Int
    }

    struct Completion: Encodable {
        struct Choice: Encodable {
            var index = 0
            var message: Message
            var finish_reason: String
        }
        struct Message: Encodable {
            var role = "assistant"
            var content: String
        }
        var id: String
        var object = "chat.completion"
        var created: Int
        var model: String
        var choices: [Choice]
        var usage: Usage
    }

    struct Chunk: Encodable {
        struct Choice: Encodable {
            var index = 0
            var delta: Delta
            var finish_reason: String?

            func encode(to encoder: any Encoder) throws {
                var container = encoder.container(keyedBy: CodingKeys.self)
                try container.encode(index, forKey: .index)
                try container.encode(delta, forKey: .delta)
                try container.encode(finish_reason, forKey: .finish_reason)  // explicit null, as OpenAI sends
            }
            enum CodingKeys: String, CodingKey { case index, delta, finish_reason }
        }
        struct Delta: Encodable {
            var role: String?
            var content: String?
        }
        var id: String
        var object = "chat.completion.chunk"
        var created: Int
        var model: String
        var choices: [Choice]
        var usage: Usage?
    }

    struct ErrorBody: Encodable {
        struct Detail: Encodable {
            var message: String
            var type: String
            var code: String?
        }
        var error: Detail
    }

    static func encode(_ value: some Encodable) -> String {
        // These types hold only strings and integers; encoding cannot fail.
        String(decoding: (try? JSONEncoder().encode(value)) ?? Data("{}".utf8), as: UTF8.self)
    }

    static func error(_ message: String, type: String, code: String? = nil) -> String {
        encode(ErrorBody(error: .init(message: message, type: type, code: code)))
    }

    static func usage(_ request: ChatRequest, _ script: CompletionScript) -> Usage {
        Usage(prompt_tokens: request.promptTokens, completion_tokens: script.tokens.count,
              total_tokens: request.promptTokens + script.tokens.count)
    }

    static func completion(id: String, request: ChatRequest, script: CompletionScript) -> String {
        encode(Completion(
            id: id, created: Int(Date().timeIntervalSince1970), model: request.model,
            choices: [.init(message: .init(content: script.text), finish_reason: script.finishReason)],
            usage: usage(request, script)))
    }

    /// The chunk objects of a streamed answer, in order, each with the delay to wait before sending it:
    /// role + first token after TTFT, one chunk per later token, the finish chunk, then (if asked) usage,
    /// then the `[DONE]` sentinel.
    static func chunks(id: String, request: ChatRequest, script: CompletionScript) -> [WireEvent] {
        let created = Int(Date().timeIntervalSince1970)
        func chunk(_ delta: Chunk.Delta, finish: String? = nil) -> String {
            encode(Chunk(id: id, created: created, model: request.model,
                         choices: [.init(delta: delta, finish_reason: finish)]))
        }
        var out = [
            WireEvent(delay: script.timeToFirstToken, data: chunk(Chunk.Delta(role: "assistant", content: ""))),
            WireEvent(delay: .zero, data: chunk(Chunk.Delta(content: script.tokens[0])), isToken: true),
        ]
        for (gap, token) in zip(script.gaps, script.tokens.dropFirst()) {
            out.append(WireEvent(delay: gap, data: chunk(Chunk.Delta(content: token)), isToken: true))
        }
        out.append(WireEvent(delay: .zero, data: chunk(Chunk.Delta(), finish: script.finishReason)))
        if request.includeUsage {
            out.append(WireEvent(delay: .zero, data: encode(Chunk(id: id, created: created, model: request.model, choices: [],
                                                                  usage: usage(request, script)))))
        }
        out.append(WireEvent(delay: .zero, data: "[DONE]"))
        return out
    }
}
