#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

import NIOCore

/// The Prometheus text exposition turned into OpenMetrics 1.0, for scrapers that ask for
/// `application/openmetrics-text` (Prometheus does, first, on every scrape). The samples are the same; the
/// differences are in the metadata: a counter family is named without its `_total` suffix, quotes in help
/// texts are escaped, and the exposition ends with `# EOF` (`end`).
enum OpenMetricsText {
    static let contentType = "application/openmetrics-text; version=1.0.0; charset=utf-8"

    /// Whether an `Accept` header asks for OpenMetrics.
    static func isAccepted(_ accept: String?) -> Bool {
        accept?.contains("application/openmetrics-text") == true
    }

    /// The line that ends an OpenMetrics exposition.
    static let end = "# EOF\n"

    /// Writes into `output` the exposition or a run of it (one that holds each of its families' headers whole;
    /// `end` is not added) with its `# HELP` and `# TYPE` lines rewritten; the sample lines between them are
    /// copied as they are, in runs (a fleet's exposition is hundreds of thousands of sample lines and a few
    /// dozen comments).
    static func convert(_ exposition: ByteBuffer, into output: inout ByteBuffer) {
        exposition.withUnsafeReadableBytes { text in
            let comments = commentLines(text)
            func line(_ range: Range<Int>) -> String { String(decoding: UnsafeRawBufferPointer(rebasing: text[range]), as: UTF8.self) }
            // HELP comes before TYPE, so the counters are found first.
            let counters = Set(comments.compactMap { range -> Substring? in
                let words = line(range).split(separator: " ")
                return words.count == 4 && words[1] == "TYPE" && words[3] == "counter" ? words[2] : nil
            })
            output.reserveCapacity(minimumWritableBytes: text.count + 16)
            var copied = 0
            for range in comments {
                output.writeBytes(UnsafeRawBufferPointer(rebasing: text[copied..<range.lowerBound]))
                copied = min(range.upperBound + 1, text.count)  // past the line's newline
                let words = line(range).split(separator: " ", maxSplits: 3, omittingEmptySubsequences: false)
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
                output.writeString(rewritten + "\n")
            }
            output.writeBytes(UnsafeRawBufferPointer(rebasing: text[copied...]))
            if let last = text.last, last != UInt8(ascii: "\n") { output.writeString("\n") }
        }
    }

    /// The ranges of the lines starting with `#`, without their newline.
    private static func commentLines(_ bytes: UnsafeRawBufferPointer) -> [Range<Int>] {
        guard let base = bytes.baseAddress else { return [] }
        var lines: [Range<Int>] = []
        var start = 0
        while start < bytes.count {
            var end = bytes.count
            if let found = memchr(base + start, Int32(UInt8(ascii: "\n")), bytes.count - start) {
                end = base.distance(to: UnsafeRawPointer(found))
            }
            if bytes[start] == UInt8(ascii: "#") { lines.append(start..<end) }
            start = end + 1
        }
        return lines
    }
}
