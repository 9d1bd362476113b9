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

/// Labels as the text exposition writes them inside braces: `name="value",...`, values escaped.
func exposedLabels(_ labels: [(String, String)]) -> String {
    labels.map { "\($0.0)=\"\($0.1.labelValueEscaped)\"" }.joined(separator: ",")
}
