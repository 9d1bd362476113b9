/// An OpenAI-compatible API base URL such as `https://api.example.com/v1`, split into what a probe dials.
///
/// Its `description` is safe to log: user-info and query strings are never printed.
public struct BaseURL: Sendable, Hashable, CustomStringConvertible {
    /// `true` for https (TLS).
    public var secure: Bool
    public var host: String
    public var port: Int
    /// Path prefix without a trailing slash, e.g. `/v1`; empty for the root.
    public var path: String

    /// Parses `http[s]://host[:port][/path]`; returns a reason on failure, never echoing credentials.
    public static func parse(_ text: String) -> Result<BaseURL, BaseURLError> {
        let secure: Bool
        var rest: Substring
        if text.hasPrefix("https://") {
            secure = true
            rest = text.dropFirst(8)
        } else if text.hasPrefix("http://") {
            secure = false
            rest = text.dropFirst(7)
        } else {
            return .failure(BaseURLError("must start with http:// or https://"))
        }
        if let query = rest.firstIndex(where: { $0 == "?" || $0 == "#" }) { rest = rest[..<query] }
        let authorityEnd = rest.firstIndex(of: "/") ?? rest.endIndex
        var authority = rest[..<authorityEnd]
        var path = String(rest[authorityEnd...])
        while path.hasSuffix("/") { path.removeLast() }
        if let at = authority.lastIndex(of: "@") { authority = authority[authority.index(after: at)...] }
        var host = authority
        var port = secure ? 443 : 80
        if authority.hasPrefix("[") {
            guard let close = authority.firstIndex(of: "]") else { return .failure(BaseURLError("has an unclosed [IPv6] host")) }
            host = authority[authority.index(after: authority.startIndex)..<close]
            let after = authority[authority.index(after: close)...]
            if after.hasPrefix(":") {
                guard let p = Int(after.dropFirst()), (1...65535).contains(p) else { return .failure(BaseURLError("has an invalid port")) }
                port = p
            } else if !after.isEmpty {
                return .failure(BaseURLError("has text after the [IPv6] host"))
            }
        } else if let colon = authority.lastIndex(of: ":") {
            host = authority[..<colon]
            guard let p = Int(authority[authority.index(after: colon)...]), (1...65535).contains(p) else {
                return .failure(BaseURLError("has an invalid port"))
            }
            port = p
        }
        guard !host.isEmpty else { return .failure(BaseURLError("has no host")) }
        return .success(BaseURL(secure: secure, host: String(host), port: port, path: path))
    }

    public init(secure: Bool, host: String, port: Int, path: String) {
        self.secure = secure
        self.host = host
        self.port = port
        self.path = path
    }

    /// The request path for an API route, e.g. `chat/completions` -> `/v1/chat/completions`.
    public func path(for route: String) -> String {
        path + "/" + route
    }

    /// The `Host` header value.
    public var hostHeader: String {
        let bracketed = host.contains(":") ? "[\(host)]" : host
        return port == (secure ? 443 : 80) ? bracketed : "\(bracketed):\(port)"
    }

    public var description: String {
        "\(secure ? "https" : "http")://\(hostHeader)\(path)"
    }
}

/// Why a base URL was rejected.
public struct BaseURLError: Error, CustomStringConvertible {
    public var description: String
    init(_ description: String) { self.description = description }
}
