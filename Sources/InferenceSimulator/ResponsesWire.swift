import Foundation

/// The parts of a Responses API request (`POST /v1/responses`, or a WebSocket `response.create`) the
/// simulator reads. `input` is a string or a list of messages whose text parts count as the prompt.
struct ResponsesRequest: Decodable {
    var type: String?
    var model: String
    var input: ResponsesInput?
    var max_output_tokens: Int?
    var stream: Bool?
}

/// `input`: a string, or a list of `{role, content}` items (content a string or a list of text parts).
struct ResponsesInput: Decodable {
    var text: String

    init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if let string = try? container.decode(String.self) {
            text = string
            return
        }
        struct Item: Decodable { var content: MessageContent? }
        text = try container.decode([Item].self).compactMap(\.content?.text).joined(separator: " ")
    }
}

/// Bodies and events of the Responses API, as OpenAI sends them (`openai` SDK-compatible).
enum ResponsesWire {
    static func json(_ object: [String: Any]) -> String {
        String(decoding: (try? JSONSerialization.data(withJSONObject: object)) ?? Data("{}".utf8), as: UTF8.self)
    }

    static func usage(prompt: Int, output: Int) -> [String: Any] {
        ["input_tokens": prompt, "input_tokens_details": ["cached_tokens": 0], "output_tokens": output,
         "output_tokens_details": ["reasoning_tokens": 0], "total_tokens": prompt + output]
    }

    static func message(id: String, text: String?, status: String) -> [String: Any] {
        ["id": id, "type": "message", "role": "assistant", "status": status,
         "content": text.map { [["type": "output_text", "text": $0, "annotations": [Any]()]] } ?? [Any]()]
    }

    static func response(id: String, model: String, status: String, output: [[String: Any]],
                         usage: [String: Any]?) -> [String: Any] {
        var object: [String: Any] = [
            "id": id, "object": "response", "created_at": Int(Date().timeIntervalSince1970), "status": status,
            "model": model, "output": output, "parallel_tool_calls": true, "tool_choice": "auto", "tools": [Any](),
            "error": NSNull(), "incomplete_details": NSNull(),
        ]
        if let usage { object["usage"] = usage }
        return object
    }

    /// The complete response of a non-streaming request.
    static func completed(id: String, request: ResponsesRequest, script: CompletionScript) -> String {
        json(response(id: id, model: request.model, status: "completed",
                      output: [message(id: "msg_" + id, text: script.text, status: "completed")],
                      usage: usage(prompt: promptTokens(request), output: script.tokens.count)))
    }

    /// The events of a streamed response, each with the delay before it and its type (the SSE `event:`
    /// name): created, in progress, the output item and its text part, one `response.output_text.delta`
    /// per token, the closing events, completed.
    static func events(id: String, request: ResponsesRequest, script: CompletionScript) -> [WireEvent] {
        let itemID = "msg_" + id
        var sequence = 0
        func event(_ type: String, _ fields: [String: Any]) -> (String, String) {
            defer { sequence += 1 }
            return (type, json(fields.merging(["type": type, "sequence_number": sequence]) { $1 }))
        }
        func at(_ delay: Duration, _ event: (name: String, json: String), token: Bool = false) -> WireEvent {
            WireEvent(delay: delay, name: event.name, data: event.json, isToken: token)
        }
        let inProgress = response(id: id, model: request.model, status: "in_progress", output: [], usage: nil)
        let part = ["item_id": itemID, "output_index": 0, "content_index": 0] as [String: Any]
        var out: [WireEvent] = [
            at(.zero, event("response.created", ["response": inProgress])),
            at(.zero, event("response.in_progress", ["response": inProgress])),
            at(.zero, event("response.output_item.added", ["output_index": 0, "item": message(id: itemID, text: nil, status: "in_progress")])),
            at(.zero, event("response.content_part.added", part.merging(["part": ["type": "output_text", "text": "", "annotations": [Any]()]]) { $1 })),
        ]
        for (delay, token) in zip(script.delays, script.tokens) {
            out.append(at(delay, event("response.output_text.delta", part.merging(["delta": token, "logprobs": [Any]()]) { $1 }), token: true))
        }
        let done = message(id: itemID, text: script.text, status: "completed")
        out += [
            at(.zero, event("response.output_text.done", part.merging(["text": script.text, "logprobs": [Any]()]) { $1 })),
            at(.zero, event("response.content_part.done", part.merging(["part": ["type": "output_text", "text": script.text, "annotations": [Any]()]]) { $1 })),
            at(.zero, event("response.output_item.done", ["output_index": 0, "item": done])),
            at(.zero, event("response.completed", ["response": response(
                id: id, model: request.model, status: "completed", output: [done],
                usage: usage(prompt: promptTokens(request), output: script.tokens.count))])),
        ]
        return out
    }

    /// The WebSocket-mode error event (its shape differs from the SSE `error` event).
    static func webSocketError(status: Int, type: String, code: String, message: String) -> String {
        json(["type": "error", "status": status, "error": ["type": type, "code": code, "message": message, "param": NSNull()]])
    }

    static func promptTokens(_ request: ResponsesRequest) -> Int {
        request.input?.text.wordCount ?? 0
    }
}
