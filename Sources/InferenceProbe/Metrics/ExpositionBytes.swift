import NIOCore
import Prometheus

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Writing the text exposition straight into the response's bytes: a fleet's scrape is hundreds of
/// thousands of lines, so a line is put together from pieces rendered once (its name, its series' label set,
/// the closing of the label set) and its value, with no string built for it and no reference counted.
extension ByteBuffer {
    /// `# HELP` and `# TYPE` lines of a family (help with backslashes and newlines escaped).
    mutating func writeFamilyHeader(_ name: String, help: String, type: String) {
        var header = "# HELP \(name) "
        for character in help.unicodeScalars {
            switch character {
            case "\\": header += #"\\"#
            case "\n": header += #"\n"#
            default: header.unicodeScalars.append(character)
            }
        }
        header += "\n# TYPE \(name) \(type)\n"
        writeString(header)
    }

    /// One family of gauges or counters: its header, then for each row the lines `samples` gives through
    /// `line(closing, value)`, where `closing` ends the row's label set (`} `, or with one more label,
    /// `,stat="p50"} `). A family without any line is taken back out: the text format has no empty families.
    /// Values of `singlePrecision` are written with a `Float`'s digits (figures computed from `Float` samples).
    mutating func writeFamily<Row>(_ descriptor: MetricNameDescriptor, type: String, rows: [Row], labels: (Row) -> [UInt8],
                                   singlePrecision: Bool = false,
                                   _ samples: (Row, _ line: (_ closing: UnsafeRawBufferPointer, _ value: Double) -> Void) -> Void) {
        let start = writerIndex
        let name = descriptor.name  // computed by swift-prometheus at every call
        writeFamilyHeader(name, help: descriptor.helpText ?? "", type: type)
        let header = writerIndex
        withExtendedLifetime(RenderedBytes([name])) { nameBytes in
            for row in rows.indices {  // not `for row in rows`: that copies (retains) each row
                labels(rows[row]).withUnsafeBytes { labels in
                    samples(rows[row]) { closing, value in
                        if singlePrecision {
                            writeSampleLine(nameBytes[0], labels, closing, Float(value))
                        } else {
                            writeSampleLine(nameBytes[0], labels, closing, value)
                        }
                    }
                }
            }
        }
        if writerIndex == header { moveWriterIndex(to: start) }
    }

    /// One sample line, `name{labels` + `closing` + value: `closing` ends the label set (`} `, or with one
    /// more label, `,le="0.5"} `).
    mutating func writeSampleLine(_ name: UnsafeRawBufferPointer, _ labels: UnsafeRawBufferPointer,
                                  _ closing: UnsafeRawBufferPointer, _ value: UInt64) {
        let length = name.count + 1 + labels.count + closing.count + 21
        writeWithUnsafeMutableBytes(minimumWritableBytes: length) { target in
            var at = Self.copyLineStart(name, labels, closing, to: target)
            at += Self.copyDecimal(value, to: target.baseAddress! + at)
            target[at] = UInt8(ascii: "\n")
            return at + 1
        }
    }

    mutating func writeSampleLine(_ name: UnsafeRawBufferPointer, _ labels: UnsafeRawBufferPointer,
                                  _ closing: UnsafeRawBufferPointer, _ value: Double) {
        if let whole = Self.wholeNumber(value) {
            writeSampleLine(name, labels, closing, whole)
            return
        }
        writeSampleLine(name, labels, closing, text: value.description)
    }

    /// A `Float` is written with its own shortest digits (at most 15 bytes: no allocation for its text).
    mutating func writeSampleLine(_ name: UnsafeRawBufferPointer, _ labels: UnsafeRawBufferPointer,
                                  _ closing: UnsafeRawBufferPointer, _ value: Float) {
        if let whole = Self.wholeNumber(Double(value)) {
            writeSampleLine(name, labels, closing, whole)
            return
        }
        writeSampleLine(name, labels, closing, text: value.description)
    }

    private mutating func writeSampleLine(_ name: UnsafeRawBufferPointer, _ labels: UnsafeRawBufferPointer,
                                          _ closing: UnsafeRawBufferPointer, text: String) {
        let length = name.count + 1 + labels.count + closing.count + text.utf8.count + 1
        writeWithUnsafeMutableBytes(minimumWritableBytes: length) { target in
            var at = Self.copyLineStart(name, labels, closing, to: target)
            for byte in text.utf8 {
                target[at] = byte
                at += 1
            }
            target[at] = UInt8(ascii: "\n")
            return at + 1
        }
    }

    /// Whole numbers are written without a fraction, others as Swift describes a `Double` (as swift-prometheus does).
    private static func wholeNumber(_ value: Double) -> UInt64? {
        value >= 0 && value < 1e15 && value == value.rounded(.towardZero) ? UInt64(value) : nil
    }

    /// Copies `name{labels` + `closing` to the start of `target`; returns the bytes written.
    private static func copyLineStart(_ name: UnsafeRawBufferPointer, _ labels: UnsafeRawBufferPointer,
                                      _ closing: UnsafeRawBufferPointer, to target: UnsafeMutableRawBufferPointer) -> Int {
        let base = target.baseAddress!
        var at = 0
        if let source = name.baseAddress { memcpy(base, source, name.count) }
        at += name.count
        target[at] = UInt8(ascii: "{")
        at += 1
        if let source = labels.baseAddress { memcpy(base + at, source, labels.count) }
        at += labels.count
        if let source = closing.baseAddress { memcpy(base + at, source, closing.count) }
        return at + closing.count
    }

    /// Writes `value` in decimal at `target` (room for 20 digits); returns the digits written.
    private static func copyDecimal(_ value: UInt64, to target: UnsafeMutableRawPointer) -> Int {
        var count = 1
        var rest = value / 10
        while rest > 0 {
            count += 1
            rest /= 10
        }
        rest = value
        for position in stride(from: count - 1, through: 0, by: -1) {
            target.storeBytes(of: UInt8(ascii: "0") + UInt8(rest % 10), toByteOffset: position, as: UInt8.self)
            rest /= 10
        }
        return count
    }
}

/// Byte strings rendered once (a family's sample names, the closings of its label sets such as
/// `,le="0.5"} `), kept in one allocation and lent as raw pointers while this object lives: the exposition
/// appends each of them thousands of times, and an array passed instead is retained and released each time.
final class RenderedBytes: @unchecked Sendable {  // immutable after `init`
    private let storage: UnsafeMutableRawBufferPointer
    /// The strings, in the order given.
    let pieces: [UnsafeRawBufferPointer]

    init(_ strings: [String]) {
        let arrays = strings.map { Array($0.utf8) }
        storage = .allocate(byteCount: max(1, arrays.reduce(0) { $0 + $1.count }), alignment: 1)
        var pieces: [UnsafeRawBufferPointer] = []
        var at = 0
        for bytes in arrays {
            let slice = UnsafeMutableRawBufferPointer(rebasing: storage[at..<(at + bytes.count)])
            slice.copyBytes(from: bytes)
            pieces.append(UnsafeRawBufferPointer(slice))
            at += bytes.count
        }
        self.pieces = pieces
    }

    subscript(_ index: Int) -> UnsafeRawBufferPointer { pieces[index] }

    deinit { storage.deallocate() }
}
