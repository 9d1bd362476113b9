/// A configuration problem, naming the file, the key (as a path like `targets[1].base_url`) and what is wrong.
public struct ConfigError: Error, CustomStringConvertible, Equatable {
    public var file: String
    /// Dotted path of the offending key; empty for whole-file problems.
    public var key: String
    /// 1-based line in the file, when known.
    public var line: Int?
    public var reason: String

    public init(file: String, key: String, line: Int? = nil, reason: String) {
        self.file = file
        self.key = key
        self.line = line
        self.reason = reason
    }

    public var description: String {
        let location = line.map { "\(file):\($0)" } ?? file
        return key.isEmpty ? "\(location): \(reason)" : "\(location): \(key): \(reason)"
    }
}
