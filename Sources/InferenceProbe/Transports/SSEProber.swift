import NIOCore

/// `http_sse`: a streaming request (`"stream": true`) on a fresh connection, read as Server-Sent Events
/// up to the API's terminal event, each text event timestamped as it arrives.
public struct SSEProber: TransportProber {
    public static let name = "http_sse"
    private let roundTrip: HTTPRoundTrip

    public init(target: TargetConfig, group: any EventLoopGroup) throws {
        roundTrip = try HTTPRoundTrip(target: target, transport: Self.name, streaming: true, group: group)
    }

    public func probe() async -> ProbeResult {
        await roundTrip.run()
    }
}
