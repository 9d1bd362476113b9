import Foundation

/// Where a target's API key comes from: an environment variable or a file (a mounted Kubernetes secret).
public enum SecretSource: Sendable, Equatable {
    case environment(String)
    case file(String)
}

/// A resolved API key. It prints as `<redacted>` everywhere, so it cannot leak into logs or errors by accident.
public struct APIKey: Sendable, Equatable, CustomStringConvertible, CustomDebugStringConvertible {
    /// The secret itself; read it only to put it on the wire.
    public let value: String

    public init(_ value: String) {
        self.value = value
    }

    public var description: String { "<redacted>" }
    public var debugDescription: String { "<redacted>" }

    /// Reads the key from its source. Errors name the variable or file, never any content.
    public static func resolve(_ source: SecretSource, environment: [String: String]) -> Result<APIKey, SecretError> {
        switch source {
        case .environment(let name):
            guard let value = environment[name], !value.isEmpty else {
                return .failure(SecretError("environment variable \(name) is not set or empty"))
            }
            return .success(APIKey(value))
        case .file(let path):
            guard let data = FileManager.default.contents(atPath: path) else {
                return .failure(SecretError("cannot read file \(path)"))
            }
            let value = String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
            guard !value.isEmpty else { return .failure(SecretError("file \(path) is empty")) }
            return .success(APIKey(value))
        }
    }
}

/// Why a secret could not be read.
public struct SecretError: Error, CustomStringConvertible {
    public var description: String
    init(_ description: String) { self.description = description }
}
