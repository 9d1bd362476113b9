#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

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
    mutating func feed(_ bytes: UnsafeRawBufferPointer) throws(ProbeFailure) -> [[UInt8]] {
        var events: [[UInt8]] = []
        var rest = bytes[...]
        if lastWasCR, rest.first == UInt8(ascii: "\n") { rest = rest.dropFirst() }
        lastWasCR = false
        // Copy whole runs up to each line break at once (memchr): this runs on the event loop for every read.
        while let lineBreak = Self.firstLineBreak(in: UnsafeRawBufferPointer(rebasing: rest)).map({ rest.startIndex + $0 }) {
            try append(UnsafeRawBufferPointer(rebasing: rest[..<lineBreak]))
            if let event = try endLine() { events.append(event) }
            let isCR = rest[lineBreak] == UInt8(ascii: "\r")
            rest = rest[(lineBreak + 1)...]
            if isCR {
                if rest.isEmpty { lastWasCR = true } else if rest.first == UInt8(ascii: "\n") { rest = rest.dropFirst() }
            }
        }
        try append(UnsafeRawBufferPointer(rebasing: rest))
        return events
    }

    /// Feeds bytes from any collection (tests, small inputs).
    mutating func feed(_ bytes: some Collection<UInt8>) throws(ProbeFailure) -> [[UInt8]] {
        let copy = Array(bytes)
        return try copy.withUnsafeBytes { raw in Result { () throws(ProbeFailure) in try feed(raw) } }.get()
    }

    /// Offset of the first CR or LF.
    private static func firstLineBreak(in bytes: UnsafeRawBufferPointer) -> Int? {
        guard let base = bytes.baseAddress, !bytes.isEmpty else { return nil }
        let lf = memchr(base, Int32(UInt8(ascii: "\n")), bytes.count).map { $0 - UnsafeMutableRawPointer(mutating: base) }
        let cr = memchr(base, Int32(UInt8(ascii: "\r")), bytes.count).map { $0 - UnsafeMutableRawPointer(mutating: base) }
        switch (lf, cr) {
        case let (lf?, cr?): return min(lf, cr)
        case let (lf?, nil): return lf
        case let (nil, cr?): return cr
        case (nil, nil): return nil
        }
    }

    private mutating func append(_ bytes: UnsafeRawBufferPointer) throws(ProbeFailure) {
        guard line.count + bytes.count <= maxBytes else {
            throw ProbeFailure(.oversize, "SSE line longer than \(maxBytes) bytes")
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
            throw ProbeFailure(.oversize, "SSE event longer than \(maxBytes) bytes")
        }
        if hasData { data.append(UInt8(ascii: "\n")) }
        data.append(contentsOf: value)
        hasData = true
        return nil
    }
}
