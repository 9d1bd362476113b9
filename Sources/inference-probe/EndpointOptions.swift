import ArgumentParser
import InferenceProbe

/// The HTTP endpoint's limits against slow, idle or too many clients.
struct EndpointOptions: ParsableArguments {
    @Option(name: .customLong("web.read-header-timeout"),
            help: "Close a connection whose request head is not complete this long after it connected or began the request.")
    var readHeaderTimeout = DurationArgument(.seconds(5))
    @Option(name: .customLong("web.idle-timeout"), help: "Close a keep-alive connection idle for this long.")
    var idleTimeout = DurationArgument(.seconds(60))
    @Option(name: .customLong("web.max-connections"), help: "Connections served at once; more wait in the backlog.")
    var maxConnections = 64

    var limits: EndpointLimits {
        var limits = EndpointLimits()
        limits.readHeaderTimeout = readHeaderTimeout.duration
        limits.idleTimeout = idleTimeout.duration
        limits.maxConnections = max(1, maxConnections)
        return limits
    }
}
