/// An API base URL such as `https://api.example.com/v1`, split into what a probe dials.
///
/// Query parameters (`?api-version=2024-10-21`) are kept and sent with every request; their values may be
/// credentials, so `description` prints them as `<redacted>`, and user-info is dropped.
public struct BaseURL: Sendable, Hashable, CustomStringConvertible {
    /// One `name=value` of the query string, kept as written (already percent-encoded).
    public struct QueryItem: Sendable, Hashable {
        public var name: String
        public var value: Secret
    }

    /// `true` for https (TLS).
    public var secure: Bool
    public var host: String
    public var port: Int
    /// Path prefix without a trailing slash, e.g. `/v1`; empty for the root.
    public var path: String
    /// Query parameters sent with every request.
    public var query: [QueryItem] = []

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
        if let fragment = rest.firstIndex(of: "#") { rest = rest[..<fragment] }
        var query: [QueryItem] = []
        if let mark = rest.firstIndex(of: "?") {
            for pair in rest[rest.index(after: mark)...].split(separator: "&") {
                let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
                guard !parts[0].isEmpty else { return .failure(BaseURLError("has a query parameter without a name")) }
                query.append(QueryItem(name: String(parts[0]), value: Secret(parts.count > 1 ? String(parts[1]) : "")))
            }
            rest = rest[..<mark]
        }
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
        return .success(BaseURL(secure: secure, host: String(host), port: port, path: path, query: query))
    }

    public init(secure: Bool, host: String, port: Int, path: String, query: [QueryItem] = []) {
        self.secure = secure
        self.host = host
        self.port = port
        self.path = path
        self.query = query
    }

    /// The request target for an API route, with the base URL's query parameters and `extra` ones:
    /// `chat/completions` -> `/v1/chat/completions?api-version=...`. `extra` values are percent-encoded.
    public func path(for route: String, extra: [(name: String, value: String)] = []) -> String {
        let items = query.map { "\($0.name)=\($0.value.value)" } + extra.map { "\($0.name)=\(Self.percentEncoded($0.value))" }
        guard !items.isEmpty else { return path + "/" + route }
        return path + "/" + route + (route.contains("?") ? "&" : "?") + items.joined(separator: "&")
    }

    /// `text` with every byte outside RFC 3986's unreserved set percent-encoded.
    static func percentEncoded(_ text: String) -> String {
        var out = ""
        for byte in text.utf8 {
            let scalar = Unicode.Scalar(byte)
            if ("0"..."9").contains(scalar) || ("A"..."Z").contains(scalar) || ("a"..."z").contains(scalar)
                || "-._~".unicodeScalars.contains(scalar) {
                out.unicodeScalars.append(scalar)
            } else {
                out += "%" + String(byte, radix: 16, uppercase: true).leftPadded(to: 2)
            }
        }
        return out
    }

    /// The `Host` header value.
    public var hostHeader: String {
        let bracketed = host.contains(":") ? "[\(host)]" : host
        return port == (secure ? 443 : 80) ? bracketed : "\(bracketed):\(port)"
    }

    public var description: String {
        let shown = query.map { "\($0.name)=<redacted>" }.joined(separator: "&")
        return "\(secure ? "https" : "http")://\(hostHeader)\(path)" + (shown.isEmpty ? "" : "?" + shown)
    }
}

/// Why a base URL was rejected.
public struct BaseURLError: Error, CustomStringConvertible {
    public var description: String
    init(_ description: String) { self.description = description }
}

extension String {
    fileprivate func leftPadded(to width: Int) -> String {
        String(repeating: "0", count: max(0, width - count)) + self
    }
}
