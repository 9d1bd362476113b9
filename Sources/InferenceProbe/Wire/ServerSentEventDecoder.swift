/// Incremental decoder of a `text/event-stream` body into the `data` of each event (WHATWG SSE rules).
///
/// Lines may end in LF, CRLF or CR; `data:` lines of one event are joined with LF; comments and other
/// fields are skipped. A line or an event longer than `maxBytes` is an error, so a hostile stream cannot grow memory.
struct ServerSentEventDecoder {
    let maxBytes: Int
    private var line: [UInt8] = []
    private var data: [UInt8] = []
    private var hasData = false
    private var lastWasCR = false

    init(maxBytes: Int = 1 << 20) {
        self.maxBytes = maxBytes
    }

    /// Feeds bytes; returns the data of every event they completed, in order.
    mutating func feed(_ bytes: some Sequence<UInt8>) throws(ProbeFailure) -> [[UInt8]] {
        var events: [[UInt8]] = []
        for byte in bytes {
            if byte == UInt8(ascii: "\n") && lastWasCR {
                lastWasCR = false
                continue
            }
            lastWasCR = byte == UInt8(ascii: "\r")
            if byte == UInt8(ascii: "\n") || byte == UInt8(ascii: "\r") {
                if let event = try endLine() { events.append(event) }
            } else {
                guard line.count < maxBytes else {
                    throw ProbeFailure(.protocolError, "SSE line longer than \(maxBytes) bytes")
                }
                line.append(byte)
            }
        }
        return events
    }

    private mutating func endLine() throws(ProbeFailure) -> [UInt8]? {
        defer { line.removeAll(keepingCapacity: true) }
        if line.isEmpty {
            guard hasData else { return nil }
            let event = data
            data.removeAll(keepingCapacity: true)
            hasData = false
            return event
        }
        if line.first == UInt8(ascii: ":") { return nil }
        let colon = line.firstIndex(of: UInt8(ascii: ":")) ?? line.endIndex
        guard line[..<colon].elementsEqual("data".utf8) else { return nil }
        var value = line[colon...].dropFirst()
        if value.first == UInt8(ascii: " ") { value = value.dropFirst() }
        guard data.count + value.count < maxBytes else {
            throw ProbeFailure(.protocolError, "SSE event longer than \(maxBytes) bytes")
        }
        if hasData { data.append(UInt8(ascii: "\n")) }
        data.append(contentsOf: value)
        hasData = true
        return nil
    }
}
