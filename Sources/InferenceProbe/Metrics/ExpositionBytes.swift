import NIOCore
import Prometheus

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Part of the exposition: a family, or a run of one family's series (the first with the family's header),
/// written from values read when the part was made. A scrape writes the parts one after another and sends
/// what they wrote as it goes, so a fleet's exposition is never in memory whole.
typealias ExpositionPart = @Sendable (inout ByteBuffer) -> Void

/// Writing the text exposition straight into the response's bytes: a fleet's scrape is hundreds of
/// thousands of lines, so a line is put together from pieces rendered once (its name, its series' label set,
/// the closing of the label set) and its value, with no string built for it and no reference counted.
extension ByteBuffer {
    /// Writes `parts` one after another.
    mutating func write(_ parts: [ExpositionPart]) {
        for part in parts { part(&self) }
    }

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

    /// Writes sample lines through `body`, into `room` bytes reserved for them at once (at least the lines'
    /// `SampleLineCursor.room`): a row's lines take one look at the buffer's capacity, not one each.
    mutating func writeSampleLines(room: Int, _ body: (inout SampleLineCursor) -> Void) {
        writeWithUnsafeMutableBytes(minimumWritableBytes: room) { target in
            var cursor = SampleLineCursor(target)
            body(&cursor)
            return cursor.written
        }
    }
}

/// Writes sample lines, `name{labels` + `closing` + value, one after another into bytes reserved for them
/// (`ByteBuffer.writeSampleLines`): `closing` ends the label set (`} `, or with one more label,
/// `,le="0.5"} `). A line that would not fit stops the process rather than write past the room.
struct SampleLineCursor {
    private let target: UnsafeMutableRawBufferPointer
    private(set) var written = 0

    /// What a line needs besides its name, label set and closing: `{`, the value (a `Double`'s text is at
    /// most 24 bytes) and the newline.
    static let valueRoom = 26

    /// The room a line needs at most, with a name, label set and closing of these lengths.
    static func room(name: Int, labels: Int, closing: Int) -> Int {
        name + labels + closing + valueRoom
    }

    fileprivate init(_ target: UnsafeMutableRawBufferPointer) {
        self.target = target
    }

    mutating func line(_ name: UnsafeRawBufferPointer, _ labels: UnsafeRawBufferPointer,
                       _ closing: UnsafeRawBufferPointer, _ value: UInt64) {
        start(name, labels, closing)
        written += Self.copyDecimal(value, to: target.baseAddress! + written)
        end()
    }

    mutating func line(_ name: UnsafeRawBufferPointer, _ labels: UnsafeRawBufferPointer,
                       _ closing: UnsafeRawBufferPointer, _ value: Double) {
        if let whole = Self.wholeNumber(value) {
            line(name, labels, closing, whole)
        } else {
            line(name, labels, closing, text: value.description)
        }
    }

    /// A `Float` is written with its own shortest digits (at most 15 bytes: no allocation for its text).
    mutating func line(_ name: UnsafeRawBufferPointer, _ labels: UnsafeRawBufferPointer,
                       _ closing: UnsafeRawBufferPointer, _ value: Float) {
        if let whole = Self.wholeNumber(Double(value)) {
            line(name, labels, closing, whole)
        } else {
            line(name, labels, closing, text: value.description)
        }
    }

    private mutating func line(_ name: UnsafeRawBufferPointer, _ labels: UnsafeRawBufferPointer,
                               _ closing: UnsafeRawBufferPointer, text: String) {
        precondition(text.utf8.count <= Self.valueRoom - 2, "a sample value longer than a Double's text")
        start(name, labels, closing)
        for byte in text.utf8 {
            target[written] = byte
            written += 1
        }
        end()
    }

    /// Whole numbers are written without a fraction, others as Swift describes a `Double` (as swift-prometheus does).
    private static func wholeNumber(_ value: Double) -> UInt64? {
        value >= 0 && value < 1e15 && value == value.rounded(.towardZero) ? UInt64(value) : nil
    }

    /// Copies `name{labels` + `closing`, after checking that the line fits.
    private mutating func start(_ name: UnsafeRawBufferPointer, _ labels: UnsafeRawBufferPointer,
                                _ closing: UnsafeRawBufferPointer) {
        precondition(written + Self.room(name: name.count, labels: labels.count, closing: closing.count) <= target.count,
                     "sample lines written past the room reserved for them")
        let base = target.baseAddress!
        if let source = name.baseAddress { memcpy(base + written, source, name.count) }
        written += name.count
        target[written] = UInt8(ascii: "{")
        written += 1
        if let source = labels.baseAddress { memcpy(base + written, source, labels.count) }
        written += labels.count
        if let source = closing.baseAddress { memcpy(base + written, source, closing.count) }
        written += closing.count
    }

    private mutating func end() {
        target[written] = UInt8(ascii: "\n")
        written += 1
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

/// About this many sample lines (some 60 KB) are written by one part: a scrape then sends chunks of about
/// `ExpositionStream.chunkSize` from memory the allocator reuses, instead of growing a buffer to the size of
/// the largest family (a fleet's outcome counters are 7 MB) and faulting in its pages.
let linesPerPart = 256

/// One family as parts of about `linesPerPart` lines, for `rows` rows of `linesPerRow` lines; `write` writes
/// the rows of a range, the first part the header before them. No part at all for no rows: the text format
/// has no empty families.
func familyParts(_ family: FamilyName, type: String, rows: Int, linesPerRow: Int,
                 _ write: @escaping @Sendable (Range<Int>, inout ByteBuffer) -> Void) -> [ExpositionPart] {
    let step = max(1, linesPerPart / max(1, linesPerRow))
    return stride(from: 0, to: rows, by: step).map { start in
        let range = start..<min(rows, start + step)
        return { buffer in
            if start == 0 { buffer.writeFamilyHeader(family.name, help: family.help, type: type) }
            write(range, &buffer)
        }
    }
}

/// The longest closing of a label set a family of gauges or counters may give (`,window="5m",stat="p50"} `
/// is 26 bytes): room is reserved for each row's lines with closings this long.
let longestClosing = 128

/// One family of gauges or counters, in parts, with a row for each label set of `labels` (or, given `rows`,
/// a row for each of its numbers, written with that label set): for each row the lines `samples(row, line)`
/// gives through `line(closing, value)`, where `closing` ends the row's label set (`} `, or with one more
/// label, `,stat="p50"} `), at most `linesPerRow` of them. A family without any line has no part. Values of
/// `singlePrecision` are written with a `Float`'s digits (figures computed from `Float` samples). Rows are
/// passed by number: a row passed by value was copied, and its references retained, for every family.
func familyParts(
    _ family: FamilyName, type: String, labels: LabelSets, rows labelSetOfRow: [Int]? = nil, linesPerRow: Int = 1,
    singlePrecision: Bool = false,
    _ samples: @escaping @Sendable (_ row: Int, _ line: (_ closing: UnsafeRawBufferPointer, _ value: Double) -> Void) -> Void
) -> [ExpositionPart] {
    let rows = labelSetOfRow?.count ?? labels.count
    let hasLines = (0..<rows).contains { row in
        var found = false
        samples(row) { _, _ in found = true }
        return found
    }
    guard hasLines else { return [] }
    let name = RenderedBytes([family.name])
    return familyParts(family, type: type, rows: rows, linesPerRow: linesPerRow) { range, buffer in
        labels.withUnsafeSets { sets in
            for row in range {
                let set = sets[labelSetOfRow?[row] ?? row]
                let room = SampleLineCursor.room(name: name[0].count, labels: set.count, closing: longestClosing)
                buffer.writeSampleLines(room: linesPerRow * room) { lines in
                    samples(row) { closing, value in
                        if singlePrecision {
                            lines.line(name[0], set, closing, Float(value))
                        } else {
                            lines.line(name[0], set, closing, value)
                        }
                    }
                }
            }
        }
    }
}

/// One family of at most one line per row, its label set ended by `closing` (`} `): `value` gives a row's
/// value, or nil for no line.
func familyParts(_ family: FamilyName, type: String, labels: LabelSets, closing: RenderedBytes,
                 _ value: @escaping @Sendable (_ row: Int) -> Double?) -> [ExpositionPart] {
    familyParts(family, type: type, labels: labels) { row, line in
        if let value = value(row) { line(closing[0], value) }
    }
}

/// A family's name and help, as a part of the exposition keeps them (swift-prometheus's descriptor computes
/// its name at every call, and is not `Sendable`).
struct FamilyName: Sendable {
    var name: String
    var help: String

    init(_ descriptor: MetricNameDescriptor) {
        (name, help) = (descriptor.name, descriptor.helpText ?? "")
    }

    init(name: String, help: String) {
        (self.name, self.help) = (name, help)
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
