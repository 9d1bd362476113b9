import NIOCore

/// One way of sending a chat completion to a target: plain HTTP, SSE, WebSocket, ...
///
/// A prober is made once per target and transport and asked for one probe at a time; it must turn every
/// failure into a `ProbeResult` outcome and never run past the target's timeout. Adding a transport means
/// one new conforming type, listed in `TransportCatalog.all`.
public protocol TransportProber: Sendable {
    /// The transport's name in configuration files and in the `transport` label.
    static var name: String { get }

    /// Prepares probing `target` (TLS contexts and the like); throws for unusable settings.
    init(target: TargetConfig, group: any EventLoopGroup) throws

    /// Runs one probe and reports what happened.
    func probe() async -> ProbeResult

    /// Closes anything kept open between probes.
    func shutdown() async
}

extension TransportProber {
    public func shutdown() async {}
}

/// The transports this build knows, by name.
public enum TransportCatalog {
    public static let all: [any TransportProber.Type] = [HTTPProber.self, SSEProber.self, WebSocketProber.self]

    public static var names: [String] { all.map { $0.name } }

    public static func prober(named name: String) -> (any TransportProber.Type)? {
        all.first { $0.name == name }
    }
}
