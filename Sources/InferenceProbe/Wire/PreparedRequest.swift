import NIOHTTP1

/// A request head built once and sent by every probe (each sets its own Content-Length). The head
/// carries credentials, so the request prints only its method and route, whoever formats it.
struct PreparedRequest: Sendable, CustomStringConvertible, CustomDebugStringConvertible, CustomReflectable {
    let head: HTTPRequestHead

    /// The head of a request with a `count`-byte body.
    func head(bodyLength count: Int) -> HTTPRequestHead {
        var head = self.head
        head.headers.replaceOrAdd(name: "Content-Length", value: String(count))
        return head
    }

    var description: String { "\(head.method) \(head.uri.prefix { $0 != "?" }) (headers and query redacted)" }
    var debugDescription: String { description }
    var customMirror: Mirror { Mirror(self, children: [], displayStyle: .struct) }
}
