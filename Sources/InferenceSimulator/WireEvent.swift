/// One event of a streamed answer: its delay after the previous one, its SSE `event:` name (if the API
/// names events), its data, and whether it carries an output token. Each API's wire builds these; the
/// stream faults cut and spoil them the same way for every API.
struct WireEvent: Sendable {
    var delay: Duration
    var name: String?
    var data: String
    var isToken = false

    /// The event as a `text/event-stream` frame.
    var sseFrame: String {
        (name.map { "event: \($0)\n" } ?? "") + "data: \(data)\n\n"
    }
}

/// How a streamed answer ends after its (possibly cut) events.
enum StreamEnding: Sendable, Equatable {
    /// Normally (an SSE body ends; a WebSocket stays open for the next request).
    case complete
    /// Cleanly but early: an SSE body ends, a WebSocket is closed with a close frame.
    case cut
    /// It does not: nothing more is sent, the connection stays open.
    case stall
    /// The connection is dropped.
    case drop
}

extension SimulatedFault {
    /// Just over what inference-probe accepts of an SSE line or a WebSocket message (1 MiB)...
    static let oversizeEventBytes = (1 << 20) + 1024
    /// ... and of a JSON body (8 MiB).
    static let oversizeBodyBytes = (8 << 20) + 1024

    /// How long the response head (over WebSocket: the first message) is held back.
    var headDelay: Duration {
        if case .slowHeaders(let delay) = self { return delay }
        return .zero
    }

    /// The events of an answer as this fault shapes them, and how the answer ends.
    func shape(_ events: [WireEvent]) -> (events: [WireEvent], ending: StreamEnding) {
        /// The events up to the `tokens`-th token (only the preamble for 0).
        func cut(after tokens: Int) -> [WireEvent] {
            var seen = 0
            var kept: [WireEvent] = []
            for event in events {
                if event.isToken {
                    guard seen < tokens else { break }
                    seen += 1
                }
                kept.append(event)
            }
            return kept
        }
        switch self {
        case .stall(let tokens): return (cut(after: tokens), .stall)
        case .truncate(let tokens): return (cut(after: tokens), .cut)
        case .reset(let tokens): return (cut(after: tokens), .drop)
        case .malformed(let tokens):
            return (cut(after: tokens) + [WireEvent(delay: .zero, name: events.first?.name, data: #"{"choices": [{"delta": {"content": "#)], .complete)
        case .oversize:
            let filler = String(repeating: "x", count: Self.oversizeEventBytes)
            return (cut(after: 0) + [WireEvent(delay: .zero, name: events.first?.name, data: #"{"padding": ""# + filler + #""}"#)], .complete)
        case .auth, .rateLimit, .serverError, .silent, .slowHeaders:
            return (events, .complete)
        }
    }
}
