import NIOCore

/// Closes a connection whose request head does not arrive in full within `timeout`: counted from the
/// connection's start, and from the first byte of every later request. It reads the raw bytes (it sits
/// below the HTTP decoder), so a client that trickles a head byte by byte is closed on time too.
final class RequestHeadTimeoutHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer

    private let timeout: TimeAmount
    private var timer: Scheduled<Void>?
    /// How many bytes of the `\r\n\r\n` that ends a head the last read ended with.
    private var matched = 0

    init(timeout: TimeAmount) {
        self.timeout = timeout
    }

    func handlerAdded(context: ChannelHandlerContext) {
        if context.channel.isActive { arm(context) }
    }

    func channelActive(context: ChannelHandlerContext) {
        arm(context)
        context.fireChannelActive()
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        disarm()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let buffer = unwrapInboundIn(data)
        for byte in buffer.readableBytesView {
            if timer == nil { arm(context) }  // the first byte of the next request
            let expected: UInt8 = matched % 2 == 0 ? UInt8(ascii: "\r") : UInt8(ascii: "\n")
            if byte == expected {
                matched += 1
            } else {
                matched = byte == UInt8(ascii: "\r") ? 1 : 0
            }
            if matched == 4 {
                matched = 0
                disarm()
            }
        }
        context.fireChannelRead(data)
    }

    func channelInactive(context: ChannelHandlerContext) {
        disarm()
        context.fireChannelInactive()
    }

    private func arm(_ context: ChannelHandlerContext) {
        guard timer == nil else { return }
        let channel = context.channel
        timer = context.eventLoop.scheduleTask(in: timeout) { channel.close(promise: nil) }
    }

    private func disarm() {
        timer?.cancel()
        timer = nil
    }
}
