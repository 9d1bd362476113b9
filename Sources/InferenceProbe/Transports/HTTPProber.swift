import NIOCore

/// `http`: one non-streaming request on a fresh connection, answered by one JSON body (the API dialect
/// writes and reads it). No per-token timings exist; output tokens come from the API's usage.
public struct HTTPProber: TransportProber {
    public static let name = "http"
    private let roundTrip: HTTPRoundTrip

    public init(target: TargetConfig, group: any EventLoopGroup) throws {
        roundTrip = try HTTPRoundTrip(target: target, transport: Self.name, streaming: false, group: group)
    }

    public func probe() async -> ProbeResult {
        await roundTrip.run()
    }
}
