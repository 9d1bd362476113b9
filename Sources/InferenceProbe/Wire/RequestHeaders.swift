import Foundation
import NIOHTTP1

extension HTTPHeaders {
    /// The headers every probe request carries: Host, User-Agent, the API key where the target puts it,
    /// the API's own headers and the target's extras.
    static func probeRequest(for target: TargetConfig, dialect: any APIDialect) -> HTTPHeaders {
        var headers = HTTPHeaders()
        headers.add(name: "Host", value: target.baseURL.hostHeader)
        headers.add(name: "User-Agent", value: "inference-probe/\(BuildInfo.version)")
        if let key = target.apiKey {
            switch target.apiKeyPlacement {
            case .bearer: headers.add(name: "Authorization", value: "Bearer \(key.value)")
            case .header(let name): headers.add(name: name, value: key.value)
            case .query: break
            }
        }
        for header in dialect.extraHeaders {
            headers.replaceOrAdd(name: header.name, value: header.value)
        }
        for header in target.headers {
            headers.replaceOrAdd(name: header.name, value: header.value.value)
        }
        return headers
    }
}

extension TargetConfig {
    /// The request target for an API route: the base path and query, plus the key when it travels in the query.
    func requestPath(for route: String) -> String {
        if case .query(let name) = apiKeyPlacement, let key = apiKey {
            return baseURL.path(for: route, extra: [(name, key.value)])
        }
        return baseURL.path(for: route)
    }
}

extension String {
    /// The text with every occurrence of the target's secrets (API key, header values, query values)
    /// replaced, also in the percent-encoded form a server may echo.
    func redactingSecrets(of target: TargetConfig) -> String {
        var text = self
        let secrets = target.secretValues.flatMap { [$0, BaseURL.percentEncoded($0)] }.filter { $0.count >= 4 }
        for secret in Set(secrets).sorted(by: { $0.count > $1.count }) {
            text = text.replacingOccurrences(of: secret, with: "<redacted>")
        }
        return text
    }
}
