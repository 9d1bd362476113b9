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
    mutating func feed<Bytes: Collection<UInt8>>(_ bytes: Bytes) throws(ProbeFailure) -> [[UInt8]] {
        var events: [[UInt8]] = []
        var rest = bytes[...]
        if lastWasCR, rest.first == UInt8(ascii: "\n") { rest = rest.dropFirst() }
        lastWasCR = false
        // Copy whole runs up to each line break at once: this runs on the event loop for every read.
        while let lineBreak = rest.firstIndex(where: { $0 == UInt8(ascii: "\n") || $0 == UInt8(ascii: "\r") }) {
            try append(rest[..<lineBreak])
            if let event = try endLine() { events.append(event) }
            let isCR = rest[lineBreak] == UInt8(ascii: "\r")
            rest = rest[rest.index(after: lineBreak)...]
            if isCR {
                if rest.isEmpty { lastWasCR = true } else if rest.first == UInt8(ascii: "\n") { rest = rest.dropFirst() }
            }
        }
        try append(rest)
        return events
    }

    private mutating func append(_ bytes: some Collection<UInt8>) throws(ProbeFailure) {
        guard line.count + bytes.count <= maxBytes else {
            throw ProbeFailure(.protocolError, "SSE line longer than \(maxBytes) bytes")
        }
        line.append(contentsOf: bytes)
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
