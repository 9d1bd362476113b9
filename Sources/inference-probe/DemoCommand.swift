import ArgumentParser
import Foundation
import InferenceProbe
import InferenceSimulator
import ServiceLifecycle
import UnixSignals

/// `demo`: the simulator on loopback and the sidecar probing it over every transport.
struct DemoCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "demo",
        abstract: "Start the simulator on loopback and the sidecar probing it over http, http_sse and websocket.")

    @Option(name: .customLong("web.listen-address"), help: "Address on which to serve /metrics.")
    var listenAddress = ListenAddress(host: "127.0.0.1", port: ListenAddress.defaultPort)

    @Option(name: .customLong("simulator.listen"), help: "host:port of the simulator (port 0 picks a free one).")
    var simulatorAddress = ListenAddress(host: "127.0.0.1", port: 0)

    @Option(help: "Probe interval of each transport.")
    var interval = DurationArgument(.seconds(2))

    @Flag(name: .customLong("all-apis"),
          help: "Also probe the simulator's Responses, Realtime and Anthropic Messages APIs (one target each).")
    var allAPIs = false

    @OptionGroup var simulator: SimulatorOptions
    @OptionGroup var endpoint: EndpointOptions
    @OptionGroup var logging: LoggingOptions

    func run() async throws {
        let logger = logging.makeLogger(label: "inference-probe")
        let settings = try simulator.settings()
        let (ports, portContinuation) = AsyncStream.makeStream(of: Int.self)
        let simulatorApp = try Simulator(settings: settings).application(
            host: simulatorAddress.host, port: simulatorAddress.port, logger: logger
        ) { port in
            portContinuation.yield(port)
        }
        // The simulator runs in a group of its own, stopped only after the sidecar has drained.
        let simulatorGroup = ServiceGroup(configuration: .init(services: [simulatorApp], logger: logger))
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await simulatorGroup.run() }
            var iterator = ports.makeAsyncIterator()
            guard let simulatorPort = await iterator.next() else { return }

            var defaults = ProbeDefaults()
            defaults.interval = interval.duration
            defaults.timeout = .seconds(10)
            // Keepalive pings between the demo's frequent probes, so their round trips show at once.
            defaults.websocketPingInterval = interval.duration / 4
            let base = BaseURL(secure: false, host: simulatorAddress.host, port: simulatorPort, path: "/v1")
            var target = TargetConfig(
                name: "simulator", baseURL: base, model: settings.models[0], transports: TransportCatalog.names,
                defaults: defaults)
            // Priced like a small hosted model, with a budget no demo run reaches.
            target.pricing = Pricing(inputPerMillion: 0.15, outputPerMillion: 0.60)
            target.dailyBudget = 5
            var targets = [target]
            if allAPIs {
                for api in APICatalog.all where api.name != target.api {
                    targets.append(TargetConfig(
                        name: "simulator-\(api.name)", baseURL: base, model: settings.models[0], api: api.name,
                        transports: api.transports, apiKeyPlacement: api.defaultKeyPlacement, defaults: defaults))
                }
            }
            let config = ProbeConfig(targets: targets)
            let (metricsPorts, metricsContinuation) = AsyncStream.makeStream(of: Int.self)
            var options = SidecarOptions(listen: listenAddress)
            options.limits = endpoint.limits
            let sidecar = try makeSidecar(
                config: config, options: options, logger: logger, onListening: { port in metricsContinuation.yield(port) })
            let group = ServiceGroup(configuration: .init(
                services: sidecar.services, gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
            tasks.addTask {
                var ports = metricsPorts.makeAsyncIterator()
                guard let port = await ports.next() else { return }
                let host = listenAddress.host == "0.0.0.0" ? "127.0.0.1" : listenAddress.host
                printOut("""
                    inference-probe demo \(BuildInfo.version)
                      simulator: \(base) (\(SimulatorOptions.describe(settings.defaultProfile)); seed \(settings.seed))
                      probing:   \(targets.map { "\($0.name) (\($0.api) over \($0.transports.joined(separator: ", ")))" }.joined(separator: "; ")), model "\(target.model)", every \(PrometheusDuration.format(target.interval))
                      metrics:   http://\(host):\(port)/metrics
                      status:    http://\(host):\(port)/
                    Stop with Ctrl-C (SIGINT) or SIGTERM.
                    """)
            }
            try await runServices(group, listen: listenAddress)
            await simulatorGroup.triggerGracefulShutdown()
            try await tasks.waitForAll()
        }
    }
}
