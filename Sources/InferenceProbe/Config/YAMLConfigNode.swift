import Yams

/// A YAML node together with where it is (file, key path, line), so every error can say exactly that.
struct YAMLConfigNode {
    let node: Node
    let file: String
    let path: String

    var line: Int? { node.mark.map { $0.line } }

    /// The root node of a YAML document; a syntax error names the line and column.
    static func document(_ yaml: String, file: String, whenEmpty: String) throws(ConfigError) -> YAMLConfigNode {
        do {
            // Yams' default resolver tags every scalar with Foundation's regular expressions (on ICU), which
            // cost a sidecar 0.8 MB of resident memory for good; booleans and numbers are read below instead.
            guard let node = try Yams.compose(yaml: yaml, .basic) else {
                throw ConfigError(file: file, key: "", reason: whenEmpty)
            }
            return YAMLConfigNode(node: node, file: file, path: "")
        } catch let error as ConfigError {
            throw error
        } catch let error as YamlError {
            throw ConfigLoader.syntaxError(error, file: file)
        } catch {
            throw ConfigError(file: file, key: "", reason: "YAML error: \(error)")
        }
    }

    func error(_ reason: String) -> ConfigError {
        ConfigError(file: file, key: path, line: line, reason: reason)
    }

    func child(_ key: String, _ node: Node) -> YAMLConfigNode {
        YAMLConfigNode(node: node, file: file, path: path.isEmpty ? key : "\(path).\(key)")
    }

    /// The mapping's entries; a key outside `allowed` is an error (typos must not be silently ignored).
    func mapping(allowed: [String]) throws(ConfigError) -> [String: YAMLConfigNode] {
        guard let mapping = node.mapping else { throw error("must be a mapping") }
        var entries: [String: YAMLConfigNode] = [:]
        for (key, value) in mapping {
            guard let name = key.string else { throw error("has a key that is not a string") }
            guard allowed.contains(name) else {
                throw child(name, value).error("unknown key (expected one of: \(allowed.joined(separator: ", ")))")
            }
            entries[name] = child(name, value)
        }
        return entries
    }

    func sequence() throws(ConfigError) -> [YAMLConfigNode] {
        guard let sequence = node.sequence else { throw error("must be a list") }
        return sequence.enumerated().map { index, element in
            YAMLConfigNode(node: element, file: file, path: "\(path)[\(index)]")
        }
    }

    func string() throws(ConfigError) -> String {
        guard let scalar = node.scalar else { throw error("must be a string") }
        return scalar.string
    }

    func nonEmptyString() throws(ConfigError) -> String {
        let value = try string()
        guard !value.isEmpty else { throw error("must not be empty") }
        return value
    }

    /// An HTTP header name (RFC 9110 token characters).
    func headerName() throws(ConfigError) -> String {
        let name = try nonEmptyString()
        guard ConfigLoader.isToken(name, allowing: "-_") else {
            throw error("'\(name)' is not a valid header name")
        }
        return name
    }

    /// The text of an unquoted scalar: YAML's booleans and numbers (a quoted `"true"` is a string).
    private var plainScalar: String? {
        guard let scalar = node.scalar, scalar.style == .plain else { return nil }
        return scalar.string
    }

    /// `true` or `false` (and YAML 1.1's `yes`, `no`, `on`, `off`), in any case.
    func bool() throws(ConfigError) -> Bool {
        switch plainScalar?.lowercased() {
        case "true", "yes", "on": return true
        case "false", "no", "off": return false
        default: throw error("must be true or false")
        }
    }

    /// An unquoted scalar's text without YAML's digit separators (`1_000`), to be read as a number.
    private var plainDigits: String? {
        plainScalar.map { $0.filter { $0 != "_" } }
    }

    func positiveInt() throws(ConfigError) -> Int {
        guard let value = plainDigits.flatMap({ Int($0) }), value > 0 else { throw error("must be a positive whole number") }
        return value
    }

    /// A number (`1`, `0.15`, `2.5e-3`, `1_000`), or nil if the node is not one.
    var number: Double? {
        plainDigits.flatMap { Double($0) }
    }

    func positiveDuration() throws(ConfigError) -> Duration {
        let text = try string()
        guard let value = PrometheusDuration.parse(text), value > .zero else {
            throw error("'\(text)' is not a positive duration (write e.g. 500ms, 15s, 1m)")
        }
        return value
    }

    /// A duration that may be zero (`0s` switches a periodic action off).
    func duration() throws(ConfigError) -> Duration {
        let text = try string()
        guard let value = PrometheusDuration.parse(text) else {
            throw error("'\(text)' is not a duration (write e.g. 0s, 500ms, 15s, 1m)")
        }
        return value
    }

    /// A number greater than zero (prices, budgets).
    func positiveNumber() throws(ConfigError) -> Double {
        guard let value = number, value.isFinite, value > 0 else { throw error("must be a number greater than 0") }
        return value
    }
}
