import ArgumentParser
import InferenceProbe
import InferenceSimulator
import ServiceLifecycle
import UnixSignals

/// `simulate`: run only the OpenAI-compatible simulator.
struct SimulateCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "simulate", abstract: "Serve the embedded OpenAI-compatible simulator (HTTP, SSE, WebSocket).")

    @Option(help: "host:port to listen on (port 0 picks a free one).")
    var listen = ListenAddress(host: "127.0.0.1", port: 8089)

    @OptionGroup var simulator: SimulatorOptions
    @OptionGroup var logging: LoggingOptions

    func run() async throws {
        let logger = logging.makeLogger(label: "inference-probe.simulator")
        let settings = try simulator.settings()
        let app = try Simulator(settings: settings).application(host: listen.host, port: listen.port, logger: logger) {
            port in
            printOut("simulator listening on \(settings.tls == nil ? "http" : "https")://\(listen.host):\(port)/v1 (\(SimulatorOptions.describe(settings.defaultProfile)); seed \(settings.seed))")
        }
        let group = ServiceGroup(configuration: .init(
            services: [app], gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
        try await group.run()
    }
}
