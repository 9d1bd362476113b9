extension StringProtocol {
    /// The text with each character that `replacements` names written as its replacement (HTML entities,
    /// Prometheus label and help escapes).
    func escaped(_ replacements: [Character: String]) -> String {
        var out = ""
        out.reserveCapacity(utf8.count)
        for character in self {
            if let replacement = replacements[character] { out += replacement } else { out.append(character) }
        }
        return out
    }

    /// A Prometheus label value (or other quoted text) with backslashes, quotes and newlines escaped.
    var labelValueEscaped: String {
        escaped(["\\": "\\\\", "\"": "\\\"", "\n": "\\n"])
    }
}

/// Labels as the text exposition writes them inside braces, `name="value",...`, values escaped byte by
/// byte (a fleet's scrape renders thousands of label sets).
func exposedLabelBytes(_ labels: [(String, String)]) -> [UInt8] {
    var bytes: [UInt8] = []
    bytes.reserveCapacity(labels.reduce(0) { $0 + $1.0.utf8.count + $1.1.utf8.count + 4 })
    for (number, (name, value)) in labels.enumerated() {
        if number > 0 { bytes.append(UInt8(ascii: ",")) }
        bytes.append(contentsOf: name.utf8)
        bytes.append(contentsOf: "=\"".utf8)
        for byte in value.utf8 {
            switch byte {
            case UInt8(ascii: "\\"): bytes.append(contentsOf: #"\\"#.utf8)
            case UInt8(ascii: "\""): bytes.append(contentsOf: #"\""#.utf8)
            case UInt8(ascii: "\n"): bytes.append(contentsOf: #"\n"#.utf8)
            default: bytes.append(byte)
            }
        }
        bytes.append(UInt8(ascii: "\""))
    }
    return bytes
}
