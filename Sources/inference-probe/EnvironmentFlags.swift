/// Flags read from the environment when the command line does not give them, as container deployments
/// expect: `INFERENCE_PROBE_` and the flag's name upper-cased, with `.` and `-` as `_`
/// (`--web.listen-address` <- `INFERENCE_PROBE_WEB_LISTEN_ADDRESS`). The command line wins.
enum EnvironmentFlags {
    /// Flags of `run` (the default subcommand); `true` marks a switch without a value.
    static let run: [(flag: String, isSwitch: Bool)] = [
        ("config.file", false), ("config.watch-interval", false),
        ("web.listen-address", false), ("web.config.file", false), ("web.enable-lifecycle", true),
        ("web.read-header-timeout", false), ("web.idle-timeout", false), ("web.max-connections", false),
        ("probe.timeout-offset", false), ("probe.max-concurrent", false),
        ("otlp.endpoint", false), ("otlp.interval", false), ("log.level", false),
    ]
    static let checkConfig: [(flag: String, isSwitch: Bool)] = [("config.file", false)]

    static func variable(for flag: String) -> String {
        "INFERENCE_PROBE_" + flag.uppercased().map { $0 == "." || $0 == "-" ? "_" : $0 }.map(String.init).joined()
    }

    /// `arguments` (without the program name) completed from `environment`.
    static func apply(to arguments: [String], environment: [String: String]) -> [String] {
        let flags: [(flag: String, isSwitch: Bool)]
        switch arguments.first {
        case nil, "run": flags = run
        case "check-config": flags = checkConfig
        case let first? where first.hasPrefix("-"): flags = run
        default: return arguments
        }
        var completed = arguments
        for (flag, isSwitch) in flags {
            let option = "--" + flag
            guard !arguments.contains(where: { $0 == option || $0.hasPrefix(option + "=") }),
                  let value = environment[variable(for: flag)], !value.isEmpty
            else { continue }
            if isSwitch {
                if ["true", "1", "yes"].contains(value.lowercased()) { completed.append(option) }
            } else {
                completed.append(option + "=" + value)
            }
        }
        return completed
    }

    /// The help text's list of variables.
    static func discussion(_ flags: [(flag: String, isSwitch: Bool)]) -> String {
        "Every flag can also be set in the environment (the command line wins):\n"
            + flags.map { "  --\($0.flag) <- \(variable(for: $0.flag))" + ($0.isSwitch ? "=true" : "") }.joined(separator: "\n")
    }
}
