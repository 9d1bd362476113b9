import Foundation
import HummingbirdWebSocket

/// One Realtime API WebSocket session of the simulator: `session.created` at once; `session.update`
/// answered by `session.updated`; `conversation.item.create` by `conversation.item.added`;
/// `response.create` by a streamed text response ending in `response.done`.
struct RealtimeSession {
    let simulator: Simulator
    let model: String
    private var events = 0
    private var sessionID: String
    private var modalities = ["audio"]
    private var promptTokens = 0

    init(simulator: Simulator, model: String) {
        self.simulator = simulator
        self.model = model
        self.sessionID = "sess_" + simulator.nextID()
    }

    mutating func nextEvent() -> String {
        events += 1
        return "event_\(events)"
    }

    mutating func run(inbound: WebSocketInboundStream, outbound: WebSocketOutboundWriter) async throws {
        try await send(["type": "session.created", "session": RealtimeWire.session(id: sessionID, model: model, modalities: modalities)], outbound)
        for try await message in inbound.messages(maxSize: 4 << 20) {
            guard try await simulator.continueSession(after: answer(message, outbound)) else { return }
        }
    }

    private mutating func send(_ object: [String: Any], _ outbound: WebSocketOutboundWriter) async throws {
        try await outbound.write(.text(RealtimeWire.json(object.merging(["event_id": nextEvent()]) { $1 })))
    }

    private mutating func answer(_ message: WebSocketMessage, _ outbound: WebSocketOutboundWriter) async throws -> SessionStep {
        struct ClientEvent: Decodable {
            struct Session: Decodable { var output_modalities: [String]? }
            struct Item: Decodable {
                struct Part: Decodable { var text: String? }
                var content: [Part]?
            }
            struct ResponseOptions: Decodable { var max_output_tokens: Int? }
            var type: String
            var session: Session?
            var item: Item?
            var response: ResponseOptions?
        }
        guard case .text(let text) = message,
              let event = try? JSONDecoder().decode(ClientEvent.self, from: Data(text.utf8)) else {
            try await outbound.write(.text(RealtimeWire.error(
                event: nextEvent(), type: "invalid_request_error", code: "invalid_event", message: "expected a JSON client event")))
            return .next
        }
        switch event.type {
        case "session.update":
            if let requested = event.session?.output_modalities { modalities = requested }
            try await send(["type": "session.updated", "session": RealtimeWire.session(id: sessionID, model: model, modalities: modalities)], outbound)
        case "conversation.item.create":
            let words = event.item?.content?.compactMap(\.text).joined(separator: " ") ?? ""
            promptTokens += words.wordCount
            try await send(["type": "conversation.item.added", "previous_item_id": NSNull(), "item": [
                "id": "item_" + simulator.nextID(), "object": "realtime.item", "type": "message", "role": "user",
                "status": "completed", "content": [["type": "input_text", "text": words]]]], outbound)
        case "response.create":
            let received = ContinuousClock.now
            let script = simulator.scripter.script(for: .websocket, maxTokens: event.response?.max_output_tokens)
            let id = "resp_" + simulator.nextID()
            switch script.fault {
            case .serverError?:
                try await outbound.write(.text(RealtimeWire.failed(id: id, event: nextEvent())))
            case let fault? where fault.isRefusal:
                let refusal = SimulatedRefusal(fault, api: .openAI)
                try await outbound.write(.text(RealtimeWire.error(
                    event: nextEvent(), type: refusal.type, code: refusal.code, message: refusal.message)))
            default:
                let events = RealtimeWire.response(id: id, promptTokens: promptTokens, script: script, events: &events)
                return try await outbound.write(answer: events, fault: script.fault, from: received)
            }
        default:
            try await outbound.write(.text(RealtimeWire.error(
                event: nextEvent(), type: "invalid_request_error", code: "unknown_event", message: "unsupported event \(event.type)")))
        }
        return .next
    }
}
