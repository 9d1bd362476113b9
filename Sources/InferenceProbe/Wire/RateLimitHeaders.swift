import Foundation
import NIOHTTP1

/// Reads the rate-limit headers providers send: `Retry-After` (seconds or an HTTP date) and `retry-after-ms`,
/// OpenAI's `x-ratelimit-{remaining,reset}-{requests,tokens}` (resets written like `1s`, `6m0s`, `20ms`) and
/// Anthropic's `anthropic-ratelimit-{requests,tokens}-remaining`.
enum RateLimitHeaders {
    /// The status the headers give, or `nil` when they say nothing about rate limits.
    static func status(in headers: HTTPHeaders, now: Date = Date()) -> RateLimitStatus? {
        func int(_ name: String) -> Int? { headers.first(name: name).flatMap { Int(trimmed($0)) } }
        var status = RateLimitStatus()
        status.remainingRequests = int("x-ratelimit-remaining-requests") ?? int("anthropic-ratelimit-requests-remaining")
        status.remainingTokens = int("x-ratelimit-remaining-tokens") ?? int("anthropic-ratelimit-tokens-remaining")
        if let millis = headers.first(name: "retry-after-ms").flatMap({ Double($0) }), millis >= 0 {
            status.retryAfter = .milliseconds(Int64(millis))
        } else if let value = headers.first(name: "retry-after") {
            status.retryAfter = retryAfter(value, now: now)
        } else {
            // No Retry-After: wait for the reset of the exhausted limit, or of both when neither says which.
            let requests = headers.first(name: "x-ratelimit-reset-requests").flatMap(goDuration)
            let tokens = headers.first(name: "x-ratelimit-reset-tokens").flatMap(goDuration)
            switch (status.remainingRequests, status.remainingTokens) {
            case (0?, _) where requests != nil: status.retryAfter = requests
            case (_, 0?) where tokens != nil: status.retryAfter = tokens
            default: status.retryAfter = [requests, tokens].compactMap { $0 }.max()
            }
        }
        return status.isEmpty ? nil : status
    }

    /// `Retry-After`: delay-seconds, or an HTTP date (RFC 9110 §10.2.3).
    static func retryAfter(_ value: String, now: Date) -> Duration? {
        let text = String(trimmed(value))
        if let seconds = Double(text) { return seconds >= 0 ? .milliseconds(Int64(seconds * 1000)) : nil }
        guard let date = httpDateFormatter().date(from: text) else { return nil }
        return .milliseconds(Int64(max(0, date.timeIntervalSince(now)) * 1000))
    }

    /// Durations as Go prints them (OpenAI's reset headers): `1s`, `6m0s`, `1.5s`, `20ms`, `1h2m3s`.
    /// Read as bytes: every answer of an OpenAI-style provider carries two of them.
    static func goDuration(_ text: String) -> Duration? {
        var rest = trimmed(text).utf8[...]
        guard !rest.isEmpty else { return nil }
        var seconds = 0.0
        while !rest.isEmpty {
            let number = rest.prefix { (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) || $0 == UInt8(ascii: ".") }
            guard let value = Double(String(decoding: number, as: UTF8.self)) else { return nil }
            rest = rest.dropFirst(number.count)
            // Two-letter units are listed before "m" and "s", so the first unit that prefixes the rest is right.
            guard let (unit, scale) = goUnits.first(where: { rest.starts(with: $0.0) }) else { return nil }
            rest = rest.dropFirst(unit.count)
            seconds += value * scale
        }
        return .milliseconds(Int64((seconds * 1000).rounded(.up)))
    }

    /// Go's duration units, as bytes, with their length in seconds.
    private static let goUnits: [([UInt8], Double)] = [("ns", 1e-9), ("us", 1e-6), ("µs", 1e-6), ("ms", 1e-3), ("h", 3600), ("m", 60), ("s", 1)]
        .map { (Array($0.0.utf8), $0.1) }

    /// `value` without the spaces and tabs around it (HTTP's optional whitespace).
    private static func trimmed(_ value: String) -> Substring {
        let blank: (Character) -> Bool = { $0 == " " || $0 == "\t" }
        guard let first = value.firstIndex(where: { !blank($0) }), let last = value.lastIndex(where: { !blank($0) }) else { return "" }
        return value[first...last]
    }

    /// A new formatter per use: HTTP dates are rare (a 429 now and then) and formatters are not Sendable.
    private static func httpDateFormatter() -> DateFormatter {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "GMT")
        formatter.dateFormat = "EEE, dd MMM yyyy HH:mm:ss zzz"
        return formatter
    }
}
