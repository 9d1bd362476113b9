import Foundation
import NIOHTTP1

extension HTTPHeaders {
    /// The headers every probe request carries: Host, User-Agent, the API key and the target's extras.
    static func probeRequest(for target: TargetConfig) -> HTTPHeaders {
        var headers = HTTPHeaders()
        headers.add(name: "Host", value: target.baseURL.hostHeader)
        headers.add(name: "User-Agent", value: "inference-probe/\(BuildInfo.version)")
        if let key = target.apiKey {
            headers.add(name: "Authorization", value: "Bearer \(key.value)")
        }
        for header in target.headers {
            headers.replaceOrAdd(name: header.name, value: header.value)
        }
        return headers
    }
}

extension String {
    /// The text with every occurrence of the target's secrets (API key, header values) replaced.
    func redactingSecrets(of target: TargetConfig) -> String {
        var text = self
        let secrets = ([target.apiKey?.value] + target.headers.map(\.value)).compactMap { $0 }.filter { $0.count >= 4 }
        for secret in secrets {
            text = text.replacingOccurrences(of: secret, with: "<redacted>")
        }
        return text
    }
}
