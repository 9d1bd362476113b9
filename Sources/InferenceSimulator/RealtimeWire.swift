import Foundation

/// Events of the OpenAI Realtime API (GA names), text only, as the `openai` SDK reads them.
enum RealtimeWire {
    static func json(_ object: [String: Any]) -> String { ResponsesWire.json(object) }

    static func session(id: String, model: String, modalities: [String]) -> [String: Any] {
        ["type": "realtime", "object": "realtime.session", "id": id, "model": model, "output_modalities": modalities]
    }

    static func error(event: String, type: String, code: String, message: String) -> String {
        json(["type": "error", "event_id": event,
              "error": ["type": type, "code": code, "message": message, "param": NSNull(), "event_id": NSNull()]])
    }

    /// The events answering `response.create`: created, the item and its part, one
    /// `response.output_text.delta` per token, the closing events, `response.done` with usage.
    /// `events` counts the session's events so far; each event takes the next number as its `event_id`.
    static func response(id: String, promptTokens: Int, script: CompletionScript, events: inout Int) -> [WireEvent] {
        let itemID = "item_" + id
        func event(_ type: String, _ fields: [String: Any]) -> String {
            events += 1
            return json(fields.merging(["type": type, "event_id": "event_\(events)"]) { $1 })
        }
        func response(_ status: String, output: [[String: Any]], usage: [String: Any]?) -> [String: Any] {
            ["id": id, "object": "realtime.response", "status": status, "status_details": NSNull(), "output": output,
             "conversation_id": "conv_sim", "output_modalities": ["text"], "max_output_tokens": "inf",
             "metadata": NSNull(), "usage": usage ?? NSNull()]
        }
        func item(_ status: String, text: String?) -> [String: Any] {
            ["id": itemID, "object": "realtime.item", "type": "message", "role": "assistant", "status": status,
             "content": text.map { [["type": "output_text", "text": $0]] } ?? [Any]()]
        }
        let part: [String: Any] = ["response_id": id, "item_id": itemID, "output_index": 0, "content_index": 0]
        var out = [
            WireEvent(delay: .zero, data: event("response.created", ["response": response("in_progress", output: [], usage: nil)])),
            WireEvent(delay: .zero, data: event("rate_limits.updated", ["rate_limits": [
                ["name": "requests", "limit": 10_000, "remaining": 9_999, "reset_seconds": 0.006],
                ["name": "tokens", "limit": 1_000_000, "remaining": 1_000_000 - promptTokens - script.tokens.count, "reset_seconds": 0.06],
            ]])),
            WireEvent(delay: .zero, data: event("response.output_item.added", ["response_id": id, "output_index": 0, "item": item("in_progress", text: nil)])),
            WireEvent(delay: .zero, data: event("response.content_part.added", part.merging(["part": ["type": "text", "text": ""]]) { $1 })),
        ]
        for (delay, token) in zip(script.delays, script.tokens) {
            out.append(WireEvent(delay: delay, data: event("response.output_text.delta", part.merging(["delta": token]) { $1 }), isToken: true))
        }
        let output = script.tokens.count
        let usage: [String: Any] = [
            "total_tokens": promptTokens + output, "input_tokens": promptTokens, "output_tokens": output,
            "input_token_details": ["text_tokens": promptTokens, "audio_tokens": 0, "cached_tokens": 0],
            "output_token_details": ["text_tokens": output, "audio_tokens": 0],
        ]
        out += [
            WireEvent(delay: .zero, data: event("response.output_text.done", part.merging(["text": script.text]) { $1 })),
            WireEvent(delay: .zero, data: event("response.content_part.done", part.merging(["part": ["type": "text", "text": script.text]]) { $1 })),
            WireEvent(delay: .zero, data: event("response.output_item.done", ["response_id": id, "output_index": 0, "item": item("completed", text: script.text)])),
            WireEvent(delay: .zero, data: event("response.done", ["response": response("completed", output: [item("completed", text: script.text)], usage: usage)])),
        ]
        return out
    }

    /// A `response.done` whose response failed (a simulated server error).
    static func failed(id: String, event: String) -> String {
        json(["type": "response.done", "event_id": event, "response": [
            "id": id, "object": "realtime.response", "status": "failed", "output": [Any](),
            "status_details": ["type": "failed", "error": ["type": "server_error", "message": "simulated server error"]],
        ]])
    }
}
