/// One JSON value inside a byte array, read in place: the dialects' fast path for streamed chunks and plain
/// answers.
///
/// `document(_:)` checks the whole text is one well-formed value in a single pass without building
/// anything (`object(_:members:)` does so for an object and finds its members in the same pass);
/// `members(_:)`, `onlyElement()`, `elements()` and `string` then read only the parts a probe's figures
/// need (`members` and `onlyElement` allocate nothing to hold what they find). Where
/// the text is not what the fast path expects (malformed, a key written with escapes, nesting deeper than
/// `maxDepth`) they answer nil and the dialect falls back to `JSONDecoder`, which also words the error.
struct JSONSlice {
    /// Nesting the fast path follows; deeper documents go to the full decoder.
    static let maxDepth = 64

    let bytes: [UInt8]
    let range: Range<Int>

    /// The single value `bytes` hold (whitespace around it allowed), or nil when they are not well-formed JSON.
    static func document(_ bytes: [UInt8]) -> JSONSlice? {
        bytes.withUnsafeBufferPointer { buffer -> JSONSlice? in
            var reader = Reader(buffer: buffer)
            reader.skipWhitespace()
            let start = reader.offset
            guard reader.skipValue(depth: 0) else { return nil }
            let end = reader.offset
            reader.skipWhitespace()
            guard reader.atEnd else { return nil }
            return JSONSlice(bytes: bytes, range: start..<end)
        }
    }

    /// The values `members` found, by the position of their key in the call. At most `capacity` keys,
    /// kept in place: reading a streamed chunk allocates nothing for them.
    struct Members {
        static let capacity = 4
        fileprivate let bytes: [UInt8]
        fileprivate var ranges: (Range<Int>?, Range<Int>?, Range<Int>?, Range<Int>?) = (nil, nil, nil, nil)

        /// The value of the call's key at `index`; nil when the object has no such member.
        subscript(index: Int) -> JSONSlice? {
            let range: Range<Int>?
            switch index {
            case 0: range = ranges.0
            case 1: range = ranges.1
            case 2: range = ranges.2
            case 3: range = ranges.3
            default: preconditionFailure("JSONSlice.Members holds \(Self.capacity) members")
            }
            return range.map { JSONSlice(bytes: bytes, range: $0) }
        }

        fileprivate mutating func set(_ index: Int, _ range: Range<Int>) {
            switch index {
            case 0: ranges.0 = range
            case 1: ranges.1 = range
            case 2: ranges.2 = range
            default: ranges.3 = range
            }
        }
    }

    /// The values of `keys` in the object `bytes` hold (whitespace around it allowed), as
    /// `document(bytes)?.members(keys)` reads them but in one pass; nil when the text is not one
    /// well-formed object or a key uses escapes.
    static func object(_ bytes: [UInt8], members keys: StaticString...) -> Members? {
        members(keys, in: bytes, at: nil)
    }

    /// The values of `keys` (at most `Members.capacity`) in this object, in the order asked (nil where a key
    /// is absent; the last of duplicate keys wins), or nil when this is not an object or a key uses escapes.
    func members(_ keys: StaticString...) -> Members? {
        Self.members(keys, in: bytes, at: range.lowerBound)
    }

    /// The members of the object starting at `start`, or (`start` nil) of the document: then the object must
    /// be all of `bytes` but whitespace.
    private static func members(_ keys: [StaticString], in bytes: [UInt8], at start: Int?) -> Members? {
        precondition(keys.count <= Members.capacity, "JSONSlice.Members holds \(Members.capacity) members")
        var found = Members(bytes: bytes)
        let valid = bytes.withUnsafeBufferPointer { buffer -> Bool in
            var reader = Reader(buffer: buffer, offset: start ?? 0)
            if start == nil { reader.skipWhitespace() }
            var escapedKey = false
            let object = reader.walkObject(depth: 0) { key, escaped, value in
                if escaped { escapedKey = true }
                if let index = keys.firstIndex(where: { Self.equal(buffer, key, $0) }) { found.set(index, value) }
            }
            guard object, !escapedKey else { return false }
            if start == nil {
                reader.skipWhitespace()
                return reader.atEnd
            }
            return true
        }
        return valid ? found : nil
    }

    /// The only element of this array: `.some(nil)` when it is empty; nil when it is not an array or has more.
    func onlyElement() -> JSONSlice?? {
        bytes.withUnsafeBufferPointer { buffer -> JSONSlice?? in
            var reader = Reader(buffer: buffer, offset: range.lowerBound)
            var first: Range<Int>?
            var count = 0
            let array = reader.walkArray(depth: 0) { element in
                count += 1
                if first == nil { first = element }
            }
            guard array, count <= 1 else { return nil }
            return .some(first.map { JSONSlice(bytes: bytes, range: $0) })
        }
    }

    /// The elements of this array, or nil when it is not one.
    func elements() -> [JSONSlice]? {
        bytes.withUnsafeBufferPointer { buffer -> [JSONSlice]? in
            var reader = Reader(buffer: buffer, offset: range.lowerBound)
            var elements: [JSONSlice] = []
            let array = reader.walkArray(depth: 0) { elements.append(JSONSlice(bytes: bytes, range: $0)) }
            return array ? elements : nil
        }
    }

    /// The value is `null`.
    var isNull: Bool { bytes[range.lowerBound] == UInt8(ascii: "n") }

    /// This integer (no fraction or exponent, within `Int`), or nil.
    var int: Int? {
        guard bytes[range.lowerBound] == UInt8(ascii: "-") || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(bytes[range.lowerBound]),
              !bytes[range].contains(where: { $0 == UInt8(ascii: ".") || $0 == UInt8(ascii: "e") || $0 == UInt8(ascii: "E") })
        else { return nil }
        return Int(String(decoding: bytes[range], as: UTF8.self))
    }

    /// The text of this string, escapes decoded; nil when it is not a string (or holds a lone surrogate).
    var string: String? {
        guard bytes[range.lowerBound] == UInt8(ascii: "\"") else { return nil }
        let body = bytes[(range.lowerBound + 1)..<(range.upperBound - 1)]
        guard body.contains(UInt8(ascii: "\\")) else { return String(decoding: body, as: UTF8.self) }
        return Self.unescaped(body)
    }

    private static func equal(_ buffer: UnsafeBufferPointer<UInt8>, _ key: Range<Int>, _ wanted: StaticString) -> Bool {
        guard key.count == wanted.utf8CodeUnitCount else { return false }
        return UnsafeBufferPointer(rebasing: buffer[key]).elementsEqual(
            UnsafeBufferPointer(start: wanted.utf8Start, count: wanted.utf8CodeUnitCount))
    }

    private static func unescaped(_ body: ArraySlice<UInt8>) -> String? {
        var out: [UInt8] = []
        out.reserveCapacity(body.count)
        var index = body.startIndex
        func hex4(_ at: Int) -> UInt32? {
            guard at + 4 <= body.endIndex else { return nil }
            var value: UInt32 = 0
            for byte in body[at..<(at + 4)] {
                guard let digit = Reader.hexValue(byte) else { return nil }
                value = value << 4 | digit
            }
            return value
        }
        while index < body.endIndex {
            let byte = body[index]
            guard byte == UInt8(ascii: "\\") else {
                out.append(byte)
                index += 1
                continue
            }
            let escape = body[index + 1]
            index += 2
            switch escape {
            case UInt8(ascii: "n"): out.append(0x0A)
            case UInt8(ascii: "t"): out.append(0x09)
            case UInt8(ascii: "r"): out.append(0x0D)
            case UInt8(ascii: "b"): out.append(0x08)
            case UInt8(ascii: "f"): out.append(0x0C)
            case UInt8(ascii: "u"):
                guard var code = hex4(index) else { return nil }
                index += 4
                if (0xD800..<0xDC00).contains(code) {
                    guard index + 6 <= body.endIndex, body[index] == UInt8(ascii: "\\"), body[index + 1] == UInt8(ascii: "u"),
                          let low = hex4(index + 2), (0xDC00..<0xE000).contains(low) else { return nil }
                    code = 0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00)
                    index += 6
                }
                guard let scalar = Unicode.Scalar(code) else { return nil }
                out.append(contentsOf: UTF8.encode(scalar)!)
            default: out.append(escape)  // \" \\ \/ (others were refused by the validating pass)
            }
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// A cursor over the bytes that steps over values by the JSON grammar (RFC 8259).
    private struct Reader {
        let buffer: UnsafeBufferPointer<UInt8>
        var offset = 0

        var atEnd: Bool { offset == buffer.count }

        private var next: UInt8? { offset < buffer.count ? buffer[offset] : nil }

        mutating func take(_ byte: UInt8) -> Bool {
            guard next == byte else { return false }
            offset += 1
            return true
        }

        mutating func skipWhitespace() {
            while let byte = next, byte == 0x20 || byte == 0x0A || byte == 0x0D || byte == 0x09 { offset += 1 }
        }

        /// Steps over one value; false when the text there is not one.
        mutating func skipValue(depth: Int) -> Bool {
            guard let byte = next, depth < JSONSlice.maxDepth else { return false }
            switch byte {
            case UInt8(ascii: "{"): return walkObject(depth: depth) { _, _, _ in }
            case UInt8(ascii: "["): return walkArray(depth: depth) { _ in }
            case UInt8(ascii: "\""): return skipString()
            case UInt8(ascii: "t"): return skipLiteral("true")
            case UInt8(ascii: "f"): return skipLiteral("false")
            case UInt8(ascii: "n"): return skipLiteral("null")
            default: return skipNumber()
            }
        }

        /// Steps over the object here, handing `member` the range of each key's content, whether the key
        /// holds an escape, and the range of its value; false when the text is not one.
        mutating func walkObject(depth: Int, _ member: (_ key: Range<Int>, _ escaped: Bool, _ value: Range<Int>) -> Void) -> Bool {
            guard take(UInt8(ascii: "{")) else { return false }
            skipWhitespace()
            if take(UInt8(ascii: "}")) { return true }
            repeat {
                skipWhitespace()
                let keyStart = offset + 1
                guard skipString() else { return false }
                let key = keyStart..<(offset - 1)
                let escaped = lastStringEscaped
                skipWhitespace()
                guard take(UInt8(ascii: ":")) else { return false }
                skipWhitespace()
                let start = offset
                guard skipValue(depth: depth + 1) else { return false }
                member(key, escaped, start..<offset)
                skipWhitespace()
            } while take(UInt8(ascii: ","))
            return take(UInt8(ascii: "}"))
        }

        /// Steps over the array here, handing `element` the range of each element; false when the text is not one.
        mutating func walkArray(depth: Int, _ element: (Range<Int>) -> Void) -> Bool {
            guard take(UInt8(ascii: "[")) else { return false }
            skipWhitespace()
            if take(UInt8(ascii: "]")) { return true }
            repeat {
                skipWhitespace()
                let start = offset
                guard skipValue(depth: depth + 1) else { return false }
                element(start..<offset)
                skipWhitespace()
            } while take(UInt8(ascii: ","))
            return take(UInt8(ascii: "]"))
        }

        /// Whether the last string stepped over held an escape.
        private(set) var lastStringEscaped = false

        /// Steps over the string here. Most of a chunk's bytes are in strings: the loop keeps its index in a
        /// register and leaves escapes to `skipEscape`.
        private mutating func skipString() -> Bool {
            guard take(UInt8(ascii: "\"")) else { return false }
            lastStringEscaped = false
            let buffer = self.buffer
            var index = offset
            while index < buffer.count {
                let byte = buffer[index]
                index += 1
                if byte == UInt8(ascii: "\"") {
                    offset = index
                    return true
                }
                if byte == UInt8(ascii: "\\") {
                    offset = index
                    guard skipEscape() else { return false }
                    lastStringEscaped = true
                    index = offset
                } else if byte < 0x20 {
                    return false
                }
            }
            return false
        }

        /// Steps over the escape after a backslash; false when it is not a valid one.
        private mutating func skipEscape() -> Bool {
            guard let escape = next else { return false }
            offset += 1
            switch escape {
            case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"), UInt8(ascii: "b"),
                 UInt8(ascii: "f"), UInt8(ascii: "n"), UInt8(ascii: "r"), UInt8(ascii: "t"):
                return true
            case UInt8(ascii: "u"):
                // A surrogate must come as a high-low pair, as Foundation requires.
                guard let code = hex4() else { return false }
                if (0xDC00..<0xE000).contains(code) { return false }
                if (0xD800..<0xDC00).contains(code) {
                    guard take(UInt8(ascii: "\\")), take(UInt8(ascii: "u")), let low = hex4(),
                          (0xDC00..<0xE000).contains(low) else { return false }
                }
                return true
            default:
                return false
            }
        }

        private mutating func hex4() -> UInt32? {
            guard offset + 4 <= buffer.count else { return nil }
            var value: UInt32 = 0
            for byte in buffer[offset..<(offset + 4)] {
                guard let digit = Self.hexValue(byte) else { return nil }
                value = value << 4 | digit
            }
            offset += 4
            return value
        }

        private mutating func skipLiteral(_ literal: StaticString) -> Bool {
            let count = literal.utf8CodeUnitCount
            guard offset + count <= buffer.count,
                  UnsafeBufferPointer(rebasing: buffer[offset..<(offset + count)])
                    .elementsEqual(UnsafeBufferPointer(start: literal.utf8Start, count: count)) else { return false }
            offset += count
            return true
        }

        /// `-? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)?`
        private mutating func skipNumber() -> Bool {
            _ = take(UInt8(ascii: "-"))
            if take(UInt8(ascii: "0")) {
                // no leading zeros
            } else {
                guard skipDigits() else { return false }
            }
            if take(UInt8(ascii: ".")) { guard skipDigits() else { return false } }
            if take(UInt8(ascii: "e")) || take(UInt8(ascii: "E")) {
                if !take(UInt8(ascii: "+")) { _ = take(UInt8(ascii: "-")) }
                guard skipDigits() else { return false }
            }
            return true
        }

        private mutating func skipDigits() -> Bool {
            let start = offset
            while let byte = next, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) { offset += 1 }
            return offset > start
        }

        static func hexValue(_ byte: UInt8) -> UInt32? {
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): UInt32(byte - UInt8(ascii: "0"))
            case UInt8(ascii: "a")...UInt8(ascii: "f"): UInt32(byte - UInt8(ascii: "a") + 10)
            case UInt8(ascii: "A")...UInt8(ascii: "F"): UInt32(byte - UInt8(ascii: "A") + 10)
            default: nil
            }
        }
    }
}
