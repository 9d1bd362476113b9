import Foundation

/// Where a target's API key comes from: an environment variable or a file (a mounted Kubernetes secret).
public enum SecretSource: Sendable, Equatable {
    case environment(String)
    case file(String)
}

/// A credential: an API key, a header value, a query parameter value.
///
/// However it is formatted (`description`, `debugDescription`, string interpolation, `dump`, `Mirror`), it
/// prints `<redacted>`, so no log line, error or status page can show it by accident.
public struct Secret: Sendable, Hashable, CustomStringConvertible, CustomDebugStringConvertible, CustomReflectable {
    /// The secret itself; read it only to put it on the wire or to redact it from text.
    public let value: String

    public init(_ value: String) {
        self.value = value
    }

    public var description: String { "<redacted>" }
    public var debugDescription: String { "<redacted>" }
    public var customMirror: Mirror { Mirror(self, children: [], displayStyle: .struct) }

    /// Reads a secret from its source. Errors name the variable or file, never any content.
    public static func resolve(_ source: SecretSource, environment: [String: String]) -> Result<Secret, SecretError> {
        switch source {
        case .environment(let name):
            guard let value = environment[name], !value.isEmpty else {
                return .failure(SecretError("environment variable \(name) is not set or empty"))
            }
            return .success(Secret(value))
        case .file(let path):
            guard let data = FileManager.default.contents(atPath: path) else {
                return .failure(SecretError("cannot read file \(path)"))
            }
            let value = String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
            guard !value.isEmpty else { return .failure(SecretError("file \(path) is empty")) }
            return .success(Secret(value))
        }
    }
}

/// Why a secret could not be read.
public struct SecretError: Error, CustomStringConvertible {
    public var description: String
    init(_ description: String) { self.description = description }
}
