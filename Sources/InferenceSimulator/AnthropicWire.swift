import Foundation

/// The parts of an Anthropic Messages request (`POST /v1/messages`) the simulator reads.
struct AnthropicRequest: Decodable {
    struct Message: Decodable {
        var role: String
        var content: MessageContent?
    }
    var model: String
    var max_tokens: Int?
    var messages: [Message]
    var stream: Bool?

    var promptTokens: Int {
        messages.reduce(0) { $0 + ($1.content?.text.wordCount ?? 0) }
    }
}

/// Bodies and events of Anthropic Messages, as the `anthropic` SDK reads them.
enum AnthropicWire {
    static func json(_ object: [String: Any]) -> String { ResponsesWire.json(object) }

    static func message(id: String, request: AnthropicRequest, script: CompletionScript) -> String {
        json(["id": id, "type": "message", "role": "assistant", "model": request.model,
              "content": [["type": "text", "text": script.text]],
              "stop_reason": script.finishReason == "length" ? "max_tokens" : "end_turn", "stop_sequence": NSNull(),
              "usage": ["input_tokens": request.promptTokens, "output_tokens": script.tokens.count]])
    }

    /// SSE events (name, data) with the delay before each.
    static func events(id: String, request: AnthropicRequest, script: CompletionScript) -> [WireEvent] {
        func at(_ delay: Duration, _ name: String, _ data: String, token: Bool = false) -> WireEvent {
            WireEvent(delay: delay, name: name, data: data, isToken: token)
        }
        var out: [WireEvent] = [
            at(.zero, "message_start", json(["type": "message_start", "message": [
                "id": id, "type": "message", "role": "assistant", "model": request.model, "content": [Any](),
                "stop_reason": NSNull(), "stop_sequence": NSNull(),
                "usage": ["input_tokens": request.promptTokens, "output_tokens": 1]]])),
            at(.zero, "content_block_start", json(["type": "content_block_start", "index": 0,
                                                 "content_block": ["type": "text", "text": ""]])),
            at(.zero, "ping", json(["type": "ping"])),
        ]
        for (delay, token) in zip(script.delays, script.tokens) {
            out.append(at(delay, "content_block_delta", json(["type": "content_block_delta", "index": 0,
                                                             "delta": ["type": "text_delta", "text": token]]), token: true))
        }
        out += [
            at(.zero, "content_block_stop", json(["type": "content_block_stop", "index": 0])),
            at(.zero, "message_delta", json(["type": "message_delta",
                                           "delta": ["stop_reason": script.finishReason == "length" ? "max_tokens" : "end_turn",
                                                     "stop_sequence": NSNull()],
                                           "usage": ["output_tokens": script.tokens.count]])),
            at(.zero, "message_stop", json(["type": "message_stop"])),
        ]
        return out
    }

    static func error(type: String, message: String) -> String {
        json(["type": "error", "error": ["type": type, "message": message]])
    }
}
