/// Writing the text exposition straight into bytes: a fleet's scrape is hundreds of thousands of lines,
/// so a line is appended piece by piece (name, a label set rendered once per series, the value) with no
/// string built for it.
extension [UInt8] {
    /// `# HELP` and `# TYPE` lines of a family (help with backslashes and newlines escaped).
    mutating func appendFamilyHeader(_ name: String, help: String, type: String) {
        append(contentsOf: "# HELP ".utf8)
        append(contentsOf: name.utf8)
        append(UInt8(ascii: " "))
        for byte in help.utf8 {
            switch byte {
            case UInt8(ascii: "\\"): append(contentsOf: #"\\"#.utf8)
            case UInt8(ascii: "\n"): append(contentsOf: #"\n"#.utf8)
            default: append(byte)
            }
        }
        append(contentsOf: "\n# TYPE ".utf8)
        append(contentsOf: name.utf8)
        append(UInt8(ascii: " "))
        append(contentsOf: type.utf8)
        append(UInt8(ascii: "\n"))
    }

    /// One sample line, `name{labels` + `closing` + value: `closing` ends the label set (`} `, or with one
    /// more label, `,le="0.5"} `).
    mutating func appendSampleLine(_ name: [UInt8], _ labels: [UInt8], _ closing: [UInt8], _ value: UInt64) {
        appendLineStart(name, labels, closing)
        appendDecimal(value)
        append(UInt8(ascii: "\n"))
    }

    mutating func appendSampleLine(_ name: [UInt8], _ labels: [UInt8], _ closing: [UInt8], _ value: Double) {
        appendLineStart(name, labels, closing)
        appendSample(value)
        append(UInt8(ascii: "\n"))
    }

    private mutating func appendLineStart(_ name: [UInt8], _ labels: [UInt8], _ closing: [UInt8]) {
        append(contentsOf: name)
        append(UInt8(ascii: "{"))
        append(contentsOf: labels)
        append(contentsOf: closing)
    }

    /// An unsigned integer in decimal.
    mutating func appendDecimal(_ value: UInt64) {
        guard value >= 10 else {
            append(UInt8(ascii: "0") + UInt8(value))
            return
        }
        var digits: (UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0)  // 32 bytes: room for 20 digits
        var count = 0
        var rest = value
        Swift.withUnsafeMutableBytes(of: &digits) { scratch in
            while rest > 0 {
                count += 1
                scratch[32 - count] = UInt8(ascii: "0") + UInt8(rest % 10)
                rest /= 10
            }
            append(contentsOf: scratch[(32 - count)...])
        }
    }

    /// A sample value as Swift describes a `Double` (what swift-prometheus writes too), integers without a fraction.
    mutating func appendSample(_ value: Double) {
        if value >= 0, value < 1e15, value == value.rounded(.towardZero) {
            appendDecimal(UInt64(value))
        } else {
            append(contentsOf: value.description.utf8)
        }
    }
}
