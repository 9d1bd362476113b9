#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Foundation
import Hummingbird
import InferenceProbe
import InferenceSimulator
import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix

/// A logger that prints nothing, for services started by tests.
let quietLogger = Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() })

/// Runs the simulator with `settings` on a free loopback port for the duration of `body`.
func withSimulator<T: Sendable>(_ settings: SimulatorSettings, _ body: (Int) async throws -> T) async throws -> T {
    try await Simulator(settings: settings).whileRunning(logger: quietLogger, body)
}

/// Simulator settings with fixed (spread-free) delays, the same for every transport.
func fixedSettings(ttft: Duration, interToken: Duration, tokens: Int, apiKey: String? = nil) -> SimulatorSettings {
    var settings = SimulatorSettings()
    settings.defaultProfile.timeToFirstToken = Delay(mean: ttft)
    settings.defaultProfile.interTokenDelay = Delay(mean: interToken)
    settings.defaultProfile.outputTokens = tokens
    settings.apiKey = apiKey
    return settings
}

/// A target on loopback `port` with the given transports and a short timeout.
func loopbackTarget(
    name: String = "sim", port: Int, api: String = APICatalog.defaultName, transports: [String] = TransportCatalog.names,
    timeout: Duration = .seconds(5), interval: Duration = .seconds(1), apiKey: String? = nil
) -> TargetConfig {
    var defaults = ProbeDefaults()
    defaults.timeout = timeout
    defaults.interval = interval
    return TargetConfig(
        name: name, baseURL: BaseURL(secure: false, host: "127.0.0.1", port: port, path: "/v1"),
        model: "simulated-model", api: api, transports: transports, apiKey: apiKey.map(Secret.init),
        apiKeyPlacement: APICatalog.dialect(named: api)?.defaultKeyPlacement ?? .bearer, defaults: defaults)
}

/// Makes the prober of `transport` for `target`, off the cooperative pool: loading the system's trust
/// roots for https takes long enough to stall the simulators of tests running in parallel.
func makeProber(_ transport: String, _ target: TargetConfig) async throws -> any TransportProber {
    guard let type = TransportCatalog.prober(named: transport) else { throw TestFailure("no transport \(transport)") }
    return try await NIOThreadPool.singleton.runIfActive {
        try type.init(target: target, group: MultiThreadedEventLoopGroup.singleton)
    }
}

/// Every API x transport pair this build can probe, as `api/transport`.
let everyPair: [String] = APICatalog.all.flatMap { api in api.transports.map { "\(api.name)/\($0)" } }

/// Splits an `api/transport` pair.
func split(_ pair: String) -> (api: String, transport: String) {
    let parts = pair.split(separator: "/").map(String.init)
    return (parts[0], parts[1])
}

struct TestFailure: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

/// A raw TCP server on loopback: it answers the first bytes it reads with `reply` (nil: never answers),
/// then closes if `closeAfterReply`. Used to play misbehaving targets.
final class RawTCPServer: Sendable {
    let channel: any Channel
    var port: Int { channel.localAddress!.port! }

    private let requests: NIOLockedValueBox<String>

    /// What clients sent, when `recordRequests` (the first read of each connection, as text).
    var received: String { requests.withLockedValue { $0 } }

    init(reply: [UInt8]?, closeAfterReply: Bool = true, recordRequests: Bool = false) async throws {
        let requests = NIOLockedValueBox("")
        self.requests = requests
        let append: @Sendable (String) -> Void = { text in requests.withLockedValue { $0 += text } }
        let record = recordRequests ? append : nil
        channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(CannedReplyHandler(
                        reply: reply, close: closeAfterReply, record: record))
                }
            }
            .bind(host: "127.0.0.1", port: 0).get()
    }

    func stop() async {
        try? await channel.close()
    }
}

private final class CannedReplyHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer
    let reply: [UInt8]?
    let close: Bool
    let record: (@Sendable (String) -> Void)?
    var replied = false

    init(reply: [UInt8]?, close: Bool, record: (@Sendable (String) -> Void)?) {
        self.reply = reply
        self.close = close
        self.record = record
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        if !replied, let record { record(String(buffer: unwrapInboundIn(data))) }
        guard let reply, !replied else { return }
        replied = true
        let channel = context.channel
        context.writeAndFlush(wrapOutboundOut(ByteBuffer(bytes: reply))).whenComplete { [close] _ in
            if close { channel.close(promise: nil) }
        }
    }
}

/// A free loopback port with nothing listening on it (bound, then closed).
func closedPort() async throws -> Int {
    let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
        .bind(host: "127.0.0.1", port: 0).get()
    let port = channel.localAddress!.port!
    try await channel.close()
    return port
}

/// GETs `http://127.0.0.1:port/path` and returns the status and body.
func httpGet(port: Int, path: String) async throws -> (status: Int, body: String) {
    let url = URL(string: "http://127.0.0.1:\(port)\(path)")!
    let (data, response) = try await URLSession.shared.data(from: url)
    return ((response as? HTTPURLResponse)?.statusCode ?? 0, String(decoding: data, as: UTF8.self))
}

/// Runs `executable` with `arguments` off the cooperative thread pool (a blocked pool would stall the
/// simulators of tests running in parallel), feeding it `input`; returns its exit status and output.
func runProcess(_ executable: String, _ arguments: [String], input: String = "") async throws -> (Int32, String) {
    try await NIOThreadPool.singleton.runIfActive {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        let stdin = Pipe()
        let output = Pipe()
        process.standardInput = stdin
        process.standardOutput = output
        process.standardError = output
        try process.run()
        stdin.fileHandleForWriting.write(Data(input.utf8))
        try stdin.fileHandleForWriting.close()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: data, as: UTF8.self))
    }
}
