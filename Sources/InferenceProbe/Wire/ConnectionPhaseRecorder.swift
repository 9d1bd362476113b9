import NIOCore
import NIOTLS

/// Instants at which a new connection became usable.
struct ConnectionPhases: Sendable {
    var connected: ProbeInstant?
    /// Through an egress proxy: when its `CONNECT` tunnel opened.
    var proxyTunnelled: ProbeInstant?
    var tlsEstablished: ProbeInstant?
}

/// Sits right above TLS (or the socket) and timestamps `channelActive` and the TLS handshake on the event
/// loop; it succeeds `ready` once requests can be written, and fails it if the connection dies first.
/// Behind a proxy tunnel it is added to an open connection, with the connect and tunnel instants known.
final class ConnectionPhaseRecorder: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer

    private let expectsTLS: Bool
    private let ready: EventLoopPromise<ConnectionPhases>
    private(set) var phases: ConnectionPhases
    private var active = false

    init(expectsTLS: Bool, ready: EventLoopPromise<ConnectionPhases>, phases: ConnectionPhases = ConnectionPhases()) {
        self.expectsTLS = expectsTLS
        self.ready = ready
        self.phases = phases
    }

    func handlerAdded(context: ChannelHandlerContext) {
        if context.channel.isActive { markConnected() }
    }

    func channelActive(context: ChannelHandlerContext) {
        markConnected()
        context.fireChannelActive()
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if let event = event as? TLSUserEvent, case .handshakeCompleted = event {
            phases.tlsEstablished = .now
            ready.succeed(phases)
        }
        context.fireUserInboundEventTriggered(event)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        ready.fail(error)
        context.fireErrorCaught(error)
    }

    func channelInactive(context: ChannelHandlerContext) {
        ready.fail(ProbeFailure(.connectionClosed, "connection closed while it was being set up"))
        context.fireChannelInactive()
    }

    private func markConnected() {
        guard !active else { return }
        active = true
        if phases.connected == nil { phases.connected = .now }
        if !expectsTLS { ready.succeed(phases) }
    }
}
