import Foundation

/// An HTTP proxy that probes reach their target through, with a `CONNECT` tunnel (TLS runs inside it):
/// a target's `proxy_url`, or `HTTPS_PROXY` / `HTTP_PROXY` from the environment unless `NO_PROXY` names
/// the target's host. User-info in the URL becomes `Proxy-Authorization: Basic`; it is a secret.
public struct EgressProxy: Sendable, Equatable, CustomStringConvertible {
    public var host: String
    public var port: Int
    /// `Proxy-Authorization` header value, from the URL's `user:password@`.
    public var authorization: Secret?
    /// The password alone, so that a proxy or server echoing it can be redacted.
    var password: Secret?

    /// The proxy without its credentials.
    public var description: String { "http://\(host):\(port)" }

    /// Parses `http://[user:password@]host[:port][/]`; a scheme-less `host:port` (as in many `HTTPS_PROXY`
    /// settings) is read as http. Errors never echo the credentials.
    public static func parse(_ text: String) -> Result<EgressProxy, BaseURLError> {
        if text.hasPrefix("https://") {
            return .failure(BaseURLError("must be an http:// proxy (the tunnel to the target carries its TLS)"))
        }
        let url = text.contains("://") ? text : "http://" + text
        guard url.hasPrefix("http://") else { return .failure(BaseURLError("must start with http://")) }
        let rest = url.dropFirst(7)
        let authority = rest.prefix { $0 != "/" }
        guard rest.dropFirst(authority.count).allSatisfy({ $0 == "/" }) else {
            return .failure(BaseURLError("must not have a path"))
        }
        var proxy: EgressProxy
        switch BaseURL.parse("http://" + authority) {
        case .failure(let error): return .failure(error)
        case .success(let base): proxy = EgressProxy(host: base.host, port: base.port)
        }
        if let at = authority.lastIndex(of: "@") {
            let userInfo = authority[..<at]
            let parts = userInfo.split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false)
            let user = String(parts[0]).removingPercentEncoding ?? String(parts[0])
            let password = parts.count > 1 ? (String(parts[1]).removingPercentEncoding ?? String(parts[1])) : ""
            proxy.authorization = Secret("Basic " + Data("\(user):\(password)".utf8).base64EncodedString())
            proxy.password = password.isEmpty ? nil : Secret(password)
        }
        return .success(proxy)
    }

    /// The environment's proxy for `url` (`HTTPS_PROXY` for https and wss, `HTTP_PROXY` for http and ws,
    /// upper or lower case), or `nil` when none is set or `NO_PROXY` covers the host.
    public static func fromEnvironment(for url: BaseURL, _ environment: [String: String]) -> (variable: String, proxy: Result<EgressProxy, BaseURLError>)? {
        func value(_ name: String) -> (String, String)? {
            for candidate in [name, name.lowercased()] {
                if let value = environment[candidate], !value.isEmpty { return (candidate, value) }
            }
            return nil
        }
        guard let (variable, text) = value(url.secure ? "HTTPS_PROXY" : "HTTP_PROXY") else { return nil }
        if let (_, noProxy) = value("NO_PROXY"), excludes(noProxy, host: url.host, port: url.port) { return nil }
        return (variable, parse(text))
    }

    /// `NO_PROXY` matching as curl and Go do: `*`, a host or IP, a domain suffix (`.example.com` or
    /// `example.com`, both covering subdomains), each optionally with `:port`.
    static func excludes(_ noProxy: String, host: String, port: Int) -> Bool {
        let host = host.lowercased()
        for entry in noProxy.split(separator: ",").map({ $0.trimmingCharacters(in: .whitespaces).lowercased() }) where !entry.isEmpty {
            if entry == "*" { return true }
            var name = Substring(entry)
            if let colon = name.lastIndex(of: ":"), !name.hasSuffix("]"), let entryPort = Int(name[name.index(after: colon)...]) {
                guard entryPort == port else { continue }
                name = name[..<colon]
            }
            name = name.hasPrefix("[") && name.hasSuffix("]") ? name.dropFirst().dropLast() : name
            let domain = name.hasPrefix(".") ? name.dropFirst() : name
            if host == domain || host.hasSuffix("." + domain) { return true }
        }
        return false
    }

    /// Secret values to scrub from echoed text.
    var secretValues: [String] {
        [authorization?.value, password?.value].compactMap { $0 }
    }
}
