import HummingbirdCore
import Logging
import NIOCore
import NIOSSL

/// Hummingbird's HTTP/1.1 child channel with a `RequestHeadTimeoutHandler` in front of it, so that a
/// client that opens connections and sends heads slowly (or never) cannot hold them open; with TLS from
/// the web configuration, each connection gets the certificate in force when it arrives.
struct GuardedHTTP1Channel: ServerChildChannel {
    let inner: HTTP1Channel
    let headTimeout: TimeAmount
    let webConfig: WebConfigStore?

    func setup(channel: any Channel, logger: Logger) -> EventLoopFuture<HTTP1Channel.Value> {
        channel.eventLoop.makeCompletedFuture {
            let sync = channel.pipeline.syncOperations
            if let context = webConfig?.current().context {
                try sync.addHandler(NIOSSLServerHandler(context: context))
            }
            try sync.addHandler(RequestHeadTimeoutHandler(timeout: headTimeout))
        }.flatMap {
            inner.setup(channel: channel, logger: logger)
        }
    }

    func handle(value: HTTP1Channel.Value, logger: Logger) async {
        await inner.handle(value: value, logger: logger)
    }
}

/// Limits of the sidecar's HTTP endpoint against slow, idle or too many clients.
public struct EndpointLimits: Sendable, Equatable {
    /// Time a client has to send a complete request head (from connecting, or from a request's first byte).
    public var readHeaderTimeout: Duration = .seconds(5)
    /// A keep-alive connection with no request for this long is closed.
    public var idleTimeout: Duration = .seconds(60)
    /// Connections served at once; further clients wait in the listen backlog.
    public var maxConnections = 64

    public init() {}
}

extension HTTPServerBuilder {
    /// HTTP/1.1 with the endpoint's limits, over TLS when the web configuration has it.
    static func guardedHTTP1(_ limits: EndpointLimits, webConfig: WebConfigStore?) -> HTTPServerBuilder {
        .init { responder in
            GuardedHTTP1Channel(
                inner: HTTP1Channel(responder: responder, configuration: .init(idleTimeout: TimeAmount(limits.idleTimeout))),
                headTimeout: TimeAmount(limits.readHeaderTimeout), webConfig: webConfig)
        }
    }
}
