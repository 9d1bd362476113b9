/// The Prometheus text exposition turned into OpenMetrics 1.0, for scrapers that ask for
/// `application/openmetrics-text` (Prometheus does, first, on every scrape). The samples are the same; the
/// differences are in the metadata: a counter family is named without its `_total` suffix, quotes in help
/// texts are escaped, and the exposition ends with `# EOF`.
enum OpenMetricsText {
    static let contentType = "application/openmetrics-text; version=1.0.0; charset=utf-8"

    /// Whether an `Accept` header asks for OpenMetrics.
    static func isAccepted(_ accept: String?) -> Bool {
        accept?.contains("application/openmetrics-text") == true
    }

    static func convert(_ text: [UInt8]) -> [UInt8] {
        let lines = text.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: true)
        // HELP comes before TYPE, so the counters are found first.
        let counterSuffix = Array(" counter".utf8)
        let counters = Set(lines.lazy.filter { $0.starts(with: Array("# TYPE ".utf8)) && $0.reversed().starts(with: counterSuffix.reversed()) }
            .map { String(decoding: $0, as: UTF8.self).split(separator: " ")[2] })
        var output: [UInt8] = []
        output.reserveCapacity(text.count + 16)
        for line in lines {
            guard line.first == UInt8(ascii: "#") else {
                output += line
                output.append(UInt8(ascii: "\n"))
                continue
            }
            let words = String(decoding: line, as: UTF8.self).split(separator: " ", maxSplits: 3, omittingEmptySubsequences: false)
            guard words.count >= 3 else { continue }
            var name = words[2]
            if counters.contains(name), name.hasSuffix("_total") {
                name = name.dropLast(6)
            }
            var rewritten = "# \(words[1]) \(name)"
            if words.count == 4 {
                // Quotes in help texts are escaped in OpenMetrics (backslashes and newlines already are).
                rewritten += " " + (words[1] == "HELP" ? words[3].escaped(["\"": "\\\""]) : String(words[3]))
            }
            output += Array(rewritten.utf8)
            output.append(UInt8(ascii: "\n"))
        }
        output += Array("# EOF\n".utf8)
        return output
    }
}
