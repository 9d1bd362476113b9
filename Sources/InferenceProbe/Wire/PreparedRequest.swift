import NIOHTTP1

/// A request head and body built once and sent by every probe. The head carries credentials, so the
/// request prints only its method and route, whoever formats it.
struct PreparedRequest: Sendable, CustomStringConvertible, CustomDebugStringConvertible, CustomReflectable {
    let head: HTTPRequestHead
    let body: [UInt8]

    var description: String { "\(head.method) \(head.uri.prefix { $0 != "?" }) (headers and query redacted)" }
    var debugDescription: String { description }
    var customMirror: Mirror { Mirror(self, children: [], displayStyle: .struct) }
}
