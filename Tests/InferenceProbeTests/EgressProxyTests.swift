import InferenceProbe
import Testing

@Suite("Egress proxy settings")
struct EgressProxyTests {
    func target(_ url: String, proxy: String? = nil, environment: [String: String]) throws -> TargetConfig {
        let yaml = """
            targets:
              - name: t
                base_url: \(url)
                model: m
                transports: [http]
            \(proxy.map { "    proxy_url: \($0)" } ?? "")
            """
        return try ConfigLoader.parse(yaml, file: "probe.yml", environment: environment).targets[0]
    }

    @Test func proxyURLWithCredentialsBecomesABasicAuthorizationNeverPrinted() throws {
        let t = try target("https://api.example.com/v1", proxy: "http://probe:p%40ss@proxy.internal:3128", environment: [:])
        let proxy = try #require(t.proxy)
        #expect(proxy.host == "proxy.internal" && proxy.port == 3128)
        #expect(proxy.authorization?.value == "Basic cHJvYmU6cEBzcw==")  // probe:p@ss
        #expect("\(proxy)" == "http://proxy.internal:3128")
        #expect(!"\(t)".contains("p@ss") && !String(reflecting: proxy).contains("p@ss"))
    }

    @Test func environmentProxyFollowsTheSchemeAndNoProxy() throws {
        let env = ["HTTPS_PROXY": "http://secure-proxy:3128", "http_proxy": "plain-proxy:8080", "NO_PROXY": ".internal,10.0.0.1,localhost:8443"]
        #expect(try target("https://api.example.com/v1", environment: env).proxy?.host == "secure-proxy")
        #expect(try target("http://api.example.com/v1", environment: env).proxy?.port == 8080)
        #expect(try target("https://model.svc.internal/v1", environment: env).proxy == nil)
        #expect(try target("https://internal/v1", environment: env).proxy == nil)
        #expect(try target("http://10.0.0.1:8000/v1", environment: env).proxy == nil)
        #expect(try target("https://localhost:8443/v1", environment: env).proxy == nil)
        #expect(try target("https://localhost:9443/v1", environment: env).proxy?.host == "secure-proxy")
        #expect(try target("https://notinternal/v1", environment: env).proxy?.host == "secure-proxy")
        #expect(try target("https://anything/v1", environment: env.merging(["no_proxy": "*"]) { $1 }.filter { $0.key != "NO_PROXY" }).proxy == nil)
    }

    @Test func directOverridesTheEnvironment() throws {
        #expect(try target("https://api.example.com/v1", proxy: "direct", environment: ["HTTPS_PROXY": "http://p:1"]).proxy == nil)
    }

    @Test func badProxiesAreConfigErrorsNamingWhere() {
        #expect(throws: ConfigError.self) { try target("https://a/v1", proxy: "https://proxy:3128", environment: [:]) }
        do {
            _ = try target("https://a/v1", environment: ["HTTPS_PROXY": "http://user:hunter2@proxy:notaport"])
            Issue.record("a bad HTTPS_PROXY was accepted")
        } catch {
            #expect("\(error)".contains("HTTPS_PROXY"))
            #expect(!"\(error)".contains("hunter2"))
        }
    }
}
