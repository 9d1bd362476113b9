/// Parses durations written as Prometheus writes them: `500ms`, `15s`, `1m30s`, `2h` (units ms, s, m, h, d).
public enum PrometheusDuration {
    /// Returns `nil` for anything that is not a well-formed, non-negative duration.
    public static func parse(_ text: String) -> Duration? {
        let units: [(String, Int64)] = [("ms", 1), ("s", 1000), ("m", 60_000), ("h", 3_600_000), ("d", 86_400_000)]
        var rest = Substring(text)
        guard !rest.isEmpty else { return nil }
        if rest == "0" { return .zero }
        var total: Int64 = 0
        while !rest.isEmpty {
            let digits = rest.prefix(while: \.isASCII).prefix(while: \.isNumber)
            guard !digits.isEmpty, let value = Int64(digits) else { return nil }
            rest = rest.dropFirst(digits.count)
            // "ms" is listed before "m", so the first unit that prefixes the rest is the right one.
            guard let (unit, millis) = units.first(where: { rest.hasPrefix($0.0) }) else {
                return nil
            }
            rest = rest.dropFirst(unit.count)
            let (product, overflow) = value.multipliedReportingOverflow(by: millis)
            guard !overflow else { return nil }
            total += product
        }
        return .milliseconds(total)
    }

    /// Formats a duration the way `parse` reads it, in the largest units that divide it: `1h`, `5m`,
    /// `1m30s`, `15s`, `250ms`.
    public static func format(_ duration: Duration) -> String {
        var millis = duration.components.seconds * 1000 + duration.components.attoseconds / 1_000_000_000_000_000
        guard millis > 0 else { return "0s" }
        var text = ""
        for (unit, size) in [("h", Int64(3_600_000)), ("m", 60_000), ("s", 1000), ("ms", 1)] where millis >= size {
            text += "\(millis / size)\(unit)"
            millis %= size
        }
        return text
    }
}
