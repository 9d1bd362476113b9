import Foundation
import InferenceProbe
import Testing

@Suite("Configuration file")
struct ConfigLoaderTests {
    let file = "probe.yml"

    func parse(_ yaml: String, environment: [String: String] = [:]) throws(ConfigError) -> ProbeConfig {
        try ConfigLoader.parse(yaml, file: file, environment: environment)
    }

    func configError(_ yaml: String, environment: [String: String] = [:]) -> ConfigError? {
        do {
            _ = try parse(yaml, environment: environment)
            return nil
        } catch {
            return error
        }
    }

    @Test func validConfigWithGlobalsAndOverrides() throws {
        let config = try parse("""
            global:
              interval: 15s
              timeout: 5s
              prompt: Say hi.
              max_tokens: 8
            targets:
              - name: openai
                base_url: https://api.example.com/v1/
                model: gpt-test
                transports: [http, http_sse, websocket]
                api_key_env: PROBE_KEY
                headers:
                  OpenAI-Organization: org-1
              - name: local
                base_url: http://127.0.0.1:8089/v1
                model: m
                transports: [websocket]
                interval: 1m30s
                max_tokens: 64
                websocket_path: /realtime
            """, environment: ["PROBE_KEY": "sk-secret-value"])
        #expect(config.targets.count == 2)
        let openai = config.targets[0]
        #expect(openai.baseURL == BaseURL(secure: true, host: "api.example.com", port: 443, path: "/v1"))
        #expect(openai.interval == .seconds(15))
        #expect(openai.timeout == .seconds(5))
        #expect(openai.settings.prompts == ["Say hi."])
        #expect(openai.maxTokens == 8)
        #expect(openai.apiKey?.value == "sk-secret-value")
        #expect(openai.headers.map(\.name) == ["OpenAI-Organization"])
        let local = config.targets[1]
        #expect(local.interval == .seconds(90))
        #expect(local.timeout == .seconds(5))
        #expect(local.maxTokens == 64)
        #expect(local.websocketPath == "realtime")
        #expect(local.baseURL.path(for: local.websocketPath ?? "") == "/v1/realtime")
        #expect(config.seriesKeys.map(\.description) == [
            "openai/gpt-test/chat_completions/http", "openai/gpt-test/chat_completions/http_sse",
            "openai/gpt-test/chat_completions/websocket", "local/m/chat_completions/websocket",
        ])
    }

    /// `api:` picks the dialect; a transport the API does not have is refused with the file, line and key.
    @Test func apisAndTheirTransports() throws {
        let config = try parse("""
            targets:
              - {name: r, base_url: "http://h/v1", model: m, api: responses, transports: [http, http_sse, websocket]}
              - {name: rt, base_url: "http://h/v1", model: m, api: realtime, transports: [websocket]}
              - {name: a, base_url: "http://h", model: m, api: anthropic_messages, transports: [http, http_sse], api_key_env: K}
            """, environment: ["K": "sk-ant"])
        #expect(config.targets.map(\.api) == ["responses", "realtime", "anthropic_messages"])
        #expect(config.targets[2].apiKeyPlacement == .header("x-api-key"), "Anthropic's key header by default")
        #expect(config.seriesKeys.map(\.labels).allSatisfy { $0.contains { $0 == ("api", $0.1) && $0.0 == "api" } })
        for (api, transport, line) in [("realtime", "http", 5), ("anthropic_messages", "websocket", 5)] {
            let error = try #require(configError("""
                targets:
                  - name: x
                    base_url: http://h/v1
                    api: \(api)
                    transports: [\(transport)]
                    model: m
                """))
            #expect(error.key == "targets[0].transports[0]" && error.line == line, "\(error)")
            #expect(error.reason.contains("has no \(transport) transport"), "\(error)")
        }
        let unknown = try #require(configError("""
            targets:
              - {name: x, base_url: "http://h/v1", model: m, api: grpc, transports: [http]}
            """))
        #expect(unknown.key == "targets[0].api" && unknown.reason.contains("unknown api 'grpc'"), "\(unknown)")
    }

    @Test func missingFileNamesTheFile() {
        #expect(throws: ConfigError(file: "/nonexistent/probe.yml", key: "", reason: "no such file")) {
            try ConfigLoader.load(file: "/nonexistent/probe.yml")
        }
    }

    @Test func yamlSyntaxErrorGivesTheLine() throws {
        let error = try #require(configError("""
            targets:
              - name: a
                base_url: "http://x
            """))
        #expect(error.file == file)
        #expect(error.line == 3 || error.line == 4)
        #expect(error.reason.contains("YAML syntax error"))
        #expect(error.description.hasPrefix("probe.yml:"))
    }

    @Test func unknownTransportIsNamedWithItsKey() throws {
        let error = try #require(configError("""
            targets:
              - name: a
                base_url: http://127.0.0.1:1/v1
                model: m
                transports: [http, grpc]
            """))
        #expect(error.key == "targets[0].transports[1]")
        #expect(error.reason.contains("unknown transport 'grpc'"))
        #expect(error.reason.contains("http, http_sse, websocket"))
        #expect(error.line == 5)
    }

    @Test func missingBaseURL() throws {
        let error = try #require(configError("""
            targets:
              - name: a
                model: m
                transports: [http]
            """))
        #expect(error.key == "targets[0].base_url")
        #expect(error.reason == "missing")
        #expect(error.description == "probe.yml:2: targets[0].base_url: missing")
    }

    @Test func invalidBaseURL() throws {
        let error = try #require(configError("""
            targets:
              - {name: a, base_url: "ftp://host/v1", model: m, transports: [http]}
            """))
        #expect(error.key == "targets[0].base_url")
        #expect(error.reason.contains("http:// or https://"))
    }

    @Test func unknownKeyIsRejected() throws {
        let error = try #require(configError("""
            targets:
              - {name: a, base_url: "http://h/v1", model: m, transports: [http], intervall: 5s}
            """))
        #expect(error.key == "targets[0].intervall")
        #expect(error.reason.contains("unknown key"))
    }

    @Test func stageTimeoutsPromptsExpectationsAndPricing() throws {
        let config = try ConfigLoader.parse("""
            global:
              connect_timeout: 2s
              first_token_timeout: 4s
              stall_timeout: 3s
              prompts: ["Say one.", "Say two."]
              nonce: true
              expect: {regex: "[0-9]+", min_tokens: 2}
              max_backoff: 5m
              websocket_ping_interval: 0s
            targets:
              - name: paid
                base_url: https://api.example.com/v1
                model: m
                transports: [http_sse, websocket]
                stall_timeout: 1500ms
                websocket_pong_timeout: 2s
                pricing: {input_per_million: 0.15, output_per_million: 0.6}
                daily_budget: 1.5
              - {name: free, base_url: "http://h/v1", model: m, transports: [http], prompt: "Only this."}
            """, file: file)
        let paid = config.targets[0].settings, free = config.targets[1].settings
        #expect(paid.connectTimeout == .seconds(2) && paid.firstTokenTimeout == .seconds(4))
        #expect(paid.stallTimeout == .milliseconds(1500) && free.stallTimeout == .seconds(3))
        #expect(paid.prompts == ["Say one.", "Say two."] && free.prompts == ["Only this."])
        #expect(paid.nonce && paid.expect == ResponseExpectation(pattern: "[0-9]+", minTokens: 2))
        #expect(paid.maxBackoff == .seconds(300) && paid.websocketPingInterval == .zero && paid.websocketPongTimeout == .seconds(2))
        #expect(config.targets[0].pricing == Pricing(inputPerMillion: 0.15, outputPerMillion: 0.6))
        #expect(config.targets[0].dailyBudget == 1.5 && config.targets[1].pricing == nil)
    }

    @Test func statisticsWindows() throws {
        let config = try ConfigLoader.parse("""
            statistics: {windows: [1h, 5m, 15m]}
            targets: [{name: a, base_url: "http://h/v1", model: m, transports: [http]}]
            """, file: file)
        #expect(config.windows == [.seconds(300), .seconds(900), .seconds(3600)])
        #expect(try ConfigLoader.parse("targets: [{name: a, base_url: \"http://h/v1\", model: m, transports: [http]}]",
                                       file: file).windows == [.seconds(300), .seconds(3600)])
        let error = try #require(configError("""
            statistics: {windows: [5m, 30s]}
            targets: [{name: a, base_url: "http://h/v1", model: m, transports: [http]}]
            """))
        #expect(error.key == "statistics.windows[1]" && error.reason.contains("between 1m and 1d"), "\(error)")
    }

    @Test(arguments: [
        ("prompt: a, prompts: [b]", "targets[0].prompt", "either prompt or prompts"),
        ("prompts: []", "targets[0].prompts", "at least one prompt"),
        (#"expect: {regex: "(unclosed"}"#, "targets[0].expect.regex", "not a valid regular expression"),
        ("expect: {}", "targets[0].expect", "set regex, min_tokens or both"),
        ("daily_budget: 2", "targets[0].daily_budget", "needs pricing"),
        ("pricing: {input_per_million: 1}", "targets[0].pricing.output_per_million", "missing"),
        ("pricing: {input_per_million: -1, output_per_million: 1}", "targets[0].pricing.input_per_million", "zero or more"),
        ("stall_timeout: 0s", "targets[0].stall_timeout", "not a positive duration"),
        ("websocket_ping_interval: often", "targets[0].websocket_ping_interval", "not a duration"),
    ])
    func badSafetySettingsAreNamed(setting: String, key: String, reason: String) throws {
        let error = try #require(configError("""
            targets:
              - {name: a, base_url: "http://h/v1", model: m, transports: [http], \(setting)}
            """))
        #expect(error.key == key, "\(error)")
        #expect(error.reason.contains(reason), "\(error)")
        #expect(error.line == 2, "\(error)")
    }

    @Test func badDurationAndNumbers() throws {
        let duration = try #require(configError("""
            global: {interval: 5 minutes}
            targets: [{name: a, base_url: "http://h/v1", model: m, transports: [http]}]
            """))
        #expect(duration.key == "global.interval")
        #expect(duration.reason.contains("not a positive duration"))
        let tokens = try #require(configError("""
            targets: [{name: a, base_url: "http://h/v1", model: m, transports: [http], max_tokens: -3}]
            """))
        #expect(tokens.key == "targets[0].max_tokens")
    }

    /// Booleans and numbers are read from unquoted scalars as YAML writes them, not by Yams' resolver.
    @Test func yamlBooleansAndNumbers() throws {
        let config = try parse("""
            targets:
              - {name: a, base_url: "http://h/v1", model: m, transports: [http], nonce: yes, max_tokens: 1_000,
                 pricing: {input_per_million: 2.5e-1, output_per_million: 0}, tls: {insecure_skip_verify: On}}
              - {name: b, base_url: "http://h/v1", model: m, transports: [http], nonce: FALSE, daily_budget: .5,
                 pricing: {input_per_million: 1, output_per_million: +2}}
            """)
        #expect(config.targets[0].settings.nonce && config.targets[0].settings.maxTokens == 1000)
        #expect(config.targets[0].pricing == Pricing(inputPerMillion: 0.25, outputPerMillion: 0))
        #expect(config.targets[0].tls.insecureSkipVerify && !config.targets[1].settings.nonce)
        #expect(config.targets[1].dailyBudget == 0.5 && config.targets[1].pricing?.outputPerMillion == 2)
        for (setting, key, reason) in [
            (#"nonce: "true""#, "nonce", "true or false"), ("nonce: 1", "nonce", "true or false"),
            ("max_tokens: 1.5", "max_tokens", "positive whole number"), (#"max_tokens: "5""#, "max_tokens", "positive whole number"),
            ("daily_budget: .inf, pricing: {input_per_million: 1, output_per_million: 1}", "daily_budget", "greater than 0"),
            ("pricing: {input_per_million: ten, output_per_million: 1}", "pricing.input_per_million", "zero or more"),
        ] {
            let error = try #require(configError("""
                targets: [{name: a, base_url: "http://h/v1", model: m, transports: [http], \(setting)}]
                """), "\(setting)")
            #expect(error.key == "targets[0].\(key)" && error.reason.contains(reason), "\(setting): \(error)")
        }
    }

    @Test func duplicateNamesAndEmptyLists() throws {
        let duplicate = try #require(configError("""
            targets:
              - {name: a, base_url: "http://h/v1", model: m, transports: [http]}
              - {name: a, base_url: "http://h/v1", model: m, transports: [http]}
            """))
        #expect(duplicate.reason.contains("duplicate target name"))
        let empty = try #require(configError("targets: []"))
        #expect(empty.key == "targets")
        let noTransports = try #require(configError("""
            targets: [{name: a, base_url: "http://h/v1", model: m, transports: []}]
            """))
        #expect(noTransports.key == "targets[0].transports")
        let emptyFile = try #require(configError(""))
        #expect(emptyFile.reason.contains("empty"))
    }

    @Test func missingSecretNamesTheVariableNeverAValue() throws {
        let error = try #require(configError("""
            targets: [{name: a, base_url: "http://h/v1", model: m, transports: [http], api_key_env: OPENAI_KEY}]
            """, environment: ["OTHER": "sk-should-not-appear"]))
        #expect(error.key == "targets[0].api_key_env")
        #expect(error.reason.contains("OPENAI_KEY"))
        #expect(!error.description.contains("sk-should-not-appear"))
    }

    @Test func apiKeyFromFileIsTrimmedAndRedacted() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("key-\(UUID().uuidString)").path
        try "sk-from-file\n".write(toFile: path, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: path) }
        let config = try parse("""
            targets: [{name: a, base_url: "http://h/v1", model: m, transports: [http], api_key_file: \(path)}]
            """)
        let key = try #require(config.targets[0].apiKey)
        #expect(key.value == "sk-from-file")
        #expect("\(key)" == "<redacted>")
        #expect(String(reflecting: key) == "<redacted>")
    }
}

@Suite("Value parsing")
struct ValueParsingTests {
    @Test(arguments: [
        ("500ms", Duration.milliseconds(500)), ("15s", .seconds(15)), ("1m30s", .seconds(90)),
        ("2h", .seconds(7200)), ("1d", .seconds(86400)), ("0", .zero),
    ])
    func prometheusDurations(text: String, expected: Duration) {
        #expect(PrometheusDuration.parse(text) == expected)
    }

    @Test(arguments: ["", "5", "5 s", "-1s", "1.5s", "s", "10x", "1sm"])
    func invalidDurations(text: String) {
        #expect(PrometheusDuration.parse(text) == nil)
    }

    @Test func baseURLs() throws {
        #expect(try BaseURL.parse("http://localhost:8089/v1").get()
            == BaseURL(secure: false, host: "localhost", port: 8089, path: "/v1"))
        #expect(try BaseURL.parse("https://[::1]/openai/v1/").get()
            == BaseURL(secure: true, host: "::1", port: 443, path: "/openai/v1"))
        let withSecrets = try BaseURL.parse("https://user:pass@api.example.com/v1?api_key=sk-123#frag").get()
        #expect(withSecrets.description == "https://api.example.com/v1?api_key=<redacted>")
        #expect(withSecrets.hostHeader == "api.example.com")
        #expect(withSecrets.path(for: "stream") == "/v1/stream?api_key=sk-123", "query parameters are sent")
        #expect(!"\(withSecrets)".contains("sk-123") && !String(reflecting: withSecrets).contains("sk-123"))
        let azure = try BaseURL.parse("https://x.openai.azure.com/openai/deployments/d?api-version=2024-10-21").get()
        #expect(azure.path(for: "chat/completions", extra: [("key", "a b&c")])
            == "/openai/deployments/d/chat/completions?api-version=2024-10-21&key=a%20b%26c")
        #expect((try? BaseURL.parse("http://host:99999/v1").get()) == nil)
        #expect((try? BaseURL.parse("http:///v1").get()) == nil)
    }

    @Test func listenAddresses() {
        #expect(ListenAddress(":9847") == ListenAddress(host: "0.0.0.0", port: 9847))
        #expect(ListenAddress("127.0.0.1:0") == ListenAddress(host: "127.0.0.1", port: 0))
        #expect(ListenAddress("[::1]:80") == ListenAddress(host: "::1", port: 80))
        #expect(ListenAddress("9847") == nil)
        #expect(ListenAddress("host:http") == nil)
    }

    @Test func apiKeyPlacement() throws {
        let yaml = """
            targets:
              - {name: a, base_url: "http://h/v1", model: m, transports: [http], api_key_env: K}
              - {name: b, base_url: "http://h/v1", model: m, transports: [http], api_key_env: K, api_key_header: api-key}
              - {name: c, base_url: "http://h/v1", model: m, transports: [http], api_key_env: K, api_key_query: api_key}
            """
        let config = try ConfigLoader.parse(yaml, file: "p.yml", environment: ["K": "sk-abc"])
        #expect(config.targets.map(\.apiKeyPlacement) == [.bearer, .header("api-key"), .query("api_key")])
        let both = """
            targets:
              - name: a
                base_url: http://h/v1
                model: m
                transports: [http]
                api_key_header: x-api-key
                api_key_query: key
            """
        #expect(throws: ConfigError(file: "p.yml", key: "targets[0].api_key_header", line: 6,
                                    reason: "set either api_key_header or api_key_query, not both")) {
            try ConfigLoader.parse(both, file: "p.yml")
        }
    }

    /// Types holding credentials print none of them, however they are formatted.
    @Test func secretsNeverPrint() throws {
        let yaml = """
            targets:
              - name: a
                base_url: "http://h/v1?sig=query-secret-1"
                model: m
                transports: [http]
                api_key_env: K
                headers: {X-Custom: header-secret-2}
            """
        let config = try ConfigLoader.parse(yaml, file: "p.yml", environment: ["K": "key-secret-3"])
        var dumped = ""
        dump(config, to: &dumped)
        let renderings = ["\(config)", String(reflecting: config), dumped, "\(config.targets[0])",
                          String(reflecting: config.targets[0]), "\(config.targets[0].headers)"]
        for text in renderings {
            for secret in ["query-secret-1", "header-secret-2", "key-secret-3"] {
                #expect(!text.contains(secret), "\(secret) printed in \(text)")
            }
        }
    }
}
